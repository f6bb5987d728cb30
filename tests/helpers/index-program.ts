/**
 * The program (index.ts) as the host runs it: a fresh copy of the module
 * (after vi.resetModules), the function it exports called, its outputs
 * returned.
 */
type Main = typeof import("../../index");

/** The stack's outputs, as the program returns them. */
export type Program = Awaited<ReturnType<Main>>;

export async function runIndex(): Promise<Program> {
  const mod = (await import("../../index")) as unknown as { default: Main };
  return mod.default();
}
