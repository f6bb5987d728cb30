// ESLint flat config: @eslint/js recommended, typescript-eslint recommended, and
// @pulumi/eslint-plugin's rules (which need type information, hence the
// project service). Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores(["node_modules/", ".local/", "bin/", "coverage/", "**/*.generated.*", "policy/bin/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { pulumi },
    rules: {
      // An Output in a template literal renders as a warning string, not its value.
      "pulumi/no-output-in-template-literal": "error",
      "pulumi/no-output-instance-in-template-literal": "error",
      // A promise nobody awaits can register resources after the program ends,
      // or hide an error.
      "@typescript-eslint/no-floating-promises": "error",
      // `_name` marks a parameter a callback signature requires but the body ignores.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
