// The baselines a Node developer would otherwise use, run in the same invocation as the scenario (§5.7).
import type { BaselineId, Scenario } from './api.js';

/** The scenario a baseline cell runs: the shmkit scenario's sizes, counts and runs with the baseline's roles. */
export function baselineScenario(id: BaselineId, of: Scenario): Scenario {
  const roles: Scenario['roles'] =
    id === 'cp-ipc' ? [{ name: 'client', entry: 'baseline-cp-ipc', cpu: 'A' }]
      : [{ name: 'server', entry: id === 'zeromq' ? 'baseline-zeromq' : 'baseline-net', cpu: 'B' },
        { name: 'client', entry: id === 'zeromq' ? 'baseline-zeromq' : 'baseline-net', cpu: 'A' }];
  return { ...of, impl: id, modes: ['n/a'], roles, baselines: [], params: { ...(of.params ?? {}), transport: id }, eventfds: 0 };
}
