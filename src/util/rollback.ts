import { log } from '../log/logger';

/**
 * Undo steps for a multi-step change (an ADD): each step that changes the host registers how
 * to take it back; on failure they run in reverse order and the original error is returned.
 * An undo that fails is logged, not thrown: the caller reports the error that started it.
 */
export class Rollback {
  private readonly steps: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (err) {
        log.error(`rollback: could not undo ${step.what}: ${(err as Error).message}`);
      }
    }
  }
}

/** Runs `body`; if it throws, undoes what it registered and rethrows. */
export async function withRollback<T>(body: (rollback: Rollback) => Promise<T>): Promise<T> {
  const rollback = new Rollback();
  try {
    return await body(rollback);
  } catch (err) {
    await rollback.run();
    throw err;
  }
}
