/** All activities of the collect workflow, bound to one worker's runtime. */
import type { CollectorRuntime } from '../src/runtime/runtime';
import { extractActivities } from './extract';
import { hwmActivities } from './hwm';
import { planActivities } from './plan';
import { stagingActivities } from './staging';
import { uploadActivities } from './upload';
import { validateActivities } from './validate';

export function createActivities(runtime: CollectorRuntime) {
  return {
    ...planActivities(runtime),
    ...extractActivities(runtime),
    ...validateActivities(runtime),
    ...uploadActivities(runtime),
    ...hwmActivities(runtime),
    ...stagingActivities(runtime),
  };
}

export type CollectorActivities = ReturnType<typeof createActivities>;
