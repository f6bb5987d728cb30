import { describe, expect, it } from "vitest";
import { passwordProvider } from "../components/generated-password";

describe("GeneratedPassword provider", () => {
  it("creates a fresh alphanumeric password of the asked length each time", async () => {
    const a = await passwordProvider.create!({ length: 40 });
    const b = await passwordProvider.create!({ length: 40 });
    expect(a.outs.result).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(a.outs.result).not.toBe(b.outs.result);
    expect(a.id).not.toBe(b.id);
  });

  it("refuses a length outside 16..128, naming it", async () => {
    const res = await passwordProvider.check!({}, { length: 8 });
    expect(res.failures).toEqual([{ property: "length", reason: "length 8 is out of range (16..128)" }]);
    expect((await passwordProvider.check!({}, {})).inputs).toEqual({ length: 40 });
  });

  it("keeps the password unless the length changes", async () => {
    expect(await passwordProvider.diff!("id", { length: 40 }, { length: 40 })).toMatchObject({
      changes: false,
    });
    expect(await passwordProvider.diff!("id", { length: 40 }, { length: 48 })).toMatchObject({
      changes: true,
      replaces: ["length"],
    });
  });
});
