/** Naming check of migrations/000_init_databases.sh (see scripts/naming-check.ts). */
import { TEST_SUFFIX } from "../../components/naming";
import { Violation } from "./common";
// migrations/000_init_databases.sh

export interface ServiceList {
  variable: string;
  line: number;
  names: { name: string; line: number }[];
}

const LIST_VARIABLE = /(?:SERVICES|DATABASES|SERVICE_LIST|DATABASE_LIST|DBS)$/i;

function splitList(raw: string): string[] | undefined {
  const unquoted = raw.replace(/["']/g, " ");
  if (unquoted.includes("$") || unquoted.includes("`")) return undefined;
  return unquoted.split(/[\s,]+/).filter((w) => w !== "");
}

/**
 * The service lists a shell script defines by default: `NAME=(a b c)` (also
 * over several lines), `NAME="a b c"`, `NAME="${NAME:-a b c}"` and
 * `: "${NAME:=a,b,c}"`, for variables named like SERVICES or DATABASES.
 * Lists built from other variables are not read.
 */
export function findServiceLists(text: string): ServiceList[] {
  const srcLines = text.split("\n");
  const lists: ServiceList[] = [];
  for (let i = 0; i < srcLines.length; i++) {
    const line = srcLines[i].replace(/(^|\s)#.*$/, "");
    const assign =
      /^\s*(?:export\s+|readonly\s+|local\s+|declare\s+(?:-[A-Za-z]+\s+)*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(
        line,
      );
    const defaulted = /\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}]*)\}/.exec(line);
    let variable: string | undefined;
    let raw: string | undefined;
    let lastLine = i;
    if (assign && LIST_VARIABLE.test(assign[1])) {
      variable = assign[1];
      const value = assign[2].trim();
      if (value.startsWith("(")) {
        let body = value.slice(1);
        while (!body.includes(")") && lastLine + 1 < srcLines.length) {
          lastLine++;
          body += " " + srcLines[lastLine].replace(/(^|\s)#.*$/, "");
        }
        raw = body.slice(0, body.indexOf(")"));
      } else {
        const inner = /\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}]*)\}/.exec(value);
        raw = inner ? inner[2] : value;
      }
    } else if (defaulted && LIST_VARIABLE.test(defaulted[1])) {
      variable = defaulted[1];
      raw = defaulted[2];
    }
    if (variable === undefined || raw === undefined) continue;
    const names = splitList(raw);
    if (names === undefined || names.length === 0) continue;
    const located = names.map((name) => {
      for (let l = i; l <= lastLine; l++) {
        if (new RegExp(`(^|[^A-Za-z0-9_])${name}([^A-Za-z0-9_]|$)`).test(srcLines[l]))
          return { name, line: l + 1 };
      }
      return { name, line: i + 1 };
    });
    lists.push({ variable, line: i + 1, names: located });
    i = lastLine;
  }
  return lists;
}

export function checkInitScript(file: string, text: string, defaultServices: readonly string[]): Violation[] {
  const violations: Violation[] = [];
  for (const list of findServiceLists(text)) {
    const bare: string[] = [];
    for (const { name, line } of list.names) {
      if (name.endsWith(TEST_SUFFIX)) {
        violations.push({
          file,
          line,
          found: name,
          expected: `${name.slice(0, -TEST_SUFFIX.length)} (the script adds ${TEST_SUFFIX} when it detects the test environment)`,
        });
        bare.push(name.slice(0, -TEST_SUFFIX.length));
      } else {
        bare.push(name);
      }
    }
    const same =
      bare.length === defaultServices.length &&
      [...bare].sort().join(" ") === [...defaultServices].sort().join(" ");
    if (!same) {
      violations.push({
        file,
        line: list.line,
        found: `${list.variable} default "${list.names.map((n) => n.name).join(" ")}"`,
        expected: `"${defaultServices.join(" ")}" (the program's default services, components/config.ts)`,
      });
    }
  }
  return violations;
}
