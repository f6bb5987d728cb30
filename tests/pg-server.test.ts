import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TestServer } from "./helpers/pg-server";

describe("embedded test server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it("runs the pinned major version and accepts the superuser", async () => {
    const c = await server.client();
    const { rows } = await c.query("SHOW server_version_num");
    await c.end();
    expect(Math.floor(Number(rows[0].server_version_num) / 10000)).toBe(17);
  });
});
