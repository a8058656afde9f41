/** `collector run <collector>`: start a run, show its progress, print the summary. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseRecipe } from '../../config/load';
import { RECIPE_PREFIX, RECIPE_SHAPE_ONLY } from '../../config/recipe-policy';
import type { CollectInput } from '../../run/types';
import { ConfigError } from '../../contracts/errors';
import { temporalConfigured } from '../../temporal/connection';
import { interactive, note, RunFailed, say, stateDirOf, type Common } from '../common';
import { executorOf, runtimeFor } from '../context';
import { failureMessage, followRun, isWorkflowFailure, printSummary, runWorkflowId, startRun } from '../run';
import { openSession } from '../session';

export interface RunFlags extends Common {
  dryRun?: boolean;
  requireApproval?: boolean;
  recipe?: string;
  executor?: string;
  workflowId?: string;
  wait: boolean;
}

export async function run(name: string, o: RunFlags): Promise<void> {
  if (!o.wait && !temporalConfigured()) {
    // The embedded dev server stops when this command exits: a run left behind would wait for ever.
    throw new ConfigError(
      '--no-wait needs a Temporal server that outlives this command: without TEMPORAL_ADDRESS (or a temporal.toml profile) the run would go to the embedded dev server, which stops when `collector run` returns; set one, or run without --no-wait',
    );
  }
  let input: CollectInput = { collector: name };
  let taskQueue: string;
  if (o.recipe) {
    const recipe = { name, ...(parseYaml(readFileSync(o.recipe, 'utf8')) as Record<string, unknown>) };
    // Checked here first: a recipe with a plain secret must be refused before it is sent, since
    // whatever a workflow receives is stored in its history. With an embedded worker its policy is
    // this collectors file's; a remote worker applies its own, so here only the recipe's shape counts.
    const runtime = await runtimeFor(o);
    const policy = temporalConfigured() ? RECIPE_SHAPE_ONLY : runtime.recipePolicy();
    const checked = parseRecipe(recipe, runtime.registry, policy);
    input = { recipe };
    taskQueue = o.executor ?? checked.executor;
  } else {
    taskQueue = await executorOf(o, name, o.executor);
  }
  if (o.dryRun) input.dryRun = true;
  if (o.requireApproval) input.requireApproval = true;
  const session = await openSession({
    stateDir: stateDirOf(o),
    inProcessWorker: 'embedded',
    ...(o.config ? { configPath: o.config } : {}),
    say: note,
  });
  try {
    const handle = await startRun(
      session.client,
      input,
      taskQueue,
      o.workflowId ?? runWorkflowId(o.recipe ? `${RECIPE_PREFIX}${name}` : name),
    );
    say(`started ${handle.workflowId} on task queue ${taskQueue}`);
    if (!o.wait) return;
    const summary = await followRun(handle, say, interactive);
    printSummary(summary, say);
  } catch (e) {
    if (isWorkflowFailure(e)) throw new RunFailed(failureMessage(e));
    throw e;
  } finally {
    await session.close();
  }
}
