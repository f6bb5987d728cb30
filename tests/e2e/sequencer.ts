import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Runs the e2e files in name order, so 90-lifecycle (destroy) runs last. */
export default class ByName extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
  async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    return files;
  }
}
