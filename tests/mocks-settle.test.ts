/**
 * settle() (helpers/mocks.ts) waits for the program's registrations, not for a
 * fixed time: a registration that is slow (its input resolves late) or that a
 * finished one sets off (an apply, a component awaiting an output) is recorded
 * by the time it returns. A fixed sleep shorter than the delay would miss each
 * of these, and a test asserting an absence would then pass for the wrong reason.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installMocks, ofType, parents, resetRecorded, settle } from "./helpers/mocks";

const THING = "test:index:Thing";
/** Longer than any fixed wait a test helper would use. */
const DELAY_MS = 300;

/** A value the program gets late, as from a slow lookup (the timer is the program's, not settle's). */
function late<T>(value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), DELAY_MS));
}

class Thing extends pulumi.CustomResource {
  constructor(name: string, value: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions) {
    super(THING, name, { value }, opts);
  }
}

function thing(name: string, value: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions): Thing {
  return new Thing(name, value, opts);
}

/** Creates its second child only once the first one's output is known. */
class Late extends pulumi.ComponentResource {
  constructor(name: string) {
    super("test:index:Late", name, {}, {});
    void this.build(name);
  }

  private async build(name: string): Promise<void> {
    const first = thing(`${name}-first`, late("first"), { parent: this });
    await new Promise((resolve) => first.id.apply(resolve));
    thing(`${name}-second`, "second", { parent: this });
    this.registerOutputs({});
  }
}

function names(): string[] {
  return ofType(THING).map((r) => r.name);
}

beforeAll(async () => {
  await installMocks();
});

beforeEach(() => {
  resetRecorded();
});

describe("settle", () => {
  it("waits for a registration whose input resolves late", async () => {
    const started = Date.now();
    thing("slow", late("value"));
    expect(names()).toEqual([]);
    await settle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 50);
    expect(ofType(THING)).toMatchObject([{ name: "slow", inputs: { value: "value" } }]);
  });

  it("waits for registrations set off by one that finished (apply chains)", async () => {
    // What a component must not do (it disappears from preview), but what a
    // test must still catch.
    const first = thing("first", late("a"));
    first.id.apply((id: string) => {
      const second = thing("second", `${id}-b`);
      second.id.apply((id2: string) => thing("third", `${id2}-c`));
    });
    await settle();
    expect(names()).toEqual(["first", "second", "third"]);
    expect(ofType(THING)[2].inputs).toEqual({ value: "second-id-c" });
  });

  it("waits for a component's child created after it awaited a sibling's output", async () => {
    const component = new Late("late");
    await settle();
    expect(names()).toEqual(["late-first", "late-second"]);
    const urn = await new Promise((resolve) => component.urn.apply(resolve));
    expect(parents.get("late-second")).toBe(urn);
  });

  it("returns at once when nothing is pending, and again after everything settled", async () => {
    await settle();
    expect(names()).toEqual([]);
    thing("now", "value");
    await settle();
    await settle();
    expect(names()).toEqual(["now"]);
  });
});
