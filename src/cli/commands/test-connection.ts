/** `collector test-connection <name>`: every permission the source, landing zone and HWM store need, ok or denied. */
import type { Check } from '../../contracts/plugin';
import { scrubSecrets } from '../../secrets/scrub';
import { RunFailed, say, type Common } from '../common';
import { runtimeFor } from '../context';
import { withClosing } from '../../runtime/runtime';

export async function testConnection(name: string, o: Common): Promise<void> {
  const runtime = await runtimeFor(o);
  const collector = runtime.collector({ collector: name });
  const secrets = runtime.secrets(collector);
  const ctx = { log: runtime.log, signal: new AbortController().signal };
  const source = await runtime.source(collector, secrets, ctx);
  const groups: [string, () => Promise<Check[]>][] = [
    [`source ${collector.source.type}`, async () => source.testConnection().finally(() => source.close())],
    [
      `landing ${collector.landing.type}`,
      () => withClosing(runtime.log, async (keep) => keep(await runtime.landing(collector, secrets, ctx)).testConnection()),
    ],
    [
      `hwm ${collector.hwm?.type ?? 'file'}`,
      () => withClosing(runtime.log, async (keep) => keep(await runtime.hwmStore(collector, secrets, ctx)).testConnection()),
    ],
  ];
  let ok = true;
  for (const [title, run] of groups) {
    say(title);
    let checks: Check[];
    try {
      checks = await run();
    } catch (e) {
      checks = [{ name: 'connect', ok: false, detail: (e as Error).message, required: true }];
    }
    for (const c of checks) {
      // A check that could not run (an earlier one failed) is neither ok nor a permission to grant.
      const skipped = !c.ok && !c.required && c.detail?.startsWith('not checked');
      const status = c.ok ? 'ok    ' : skipped ? 'skip  ' : c.required ? 'DENIED' : 'denied';
      // The permission behind every check, so a security team can read the list as a policy.
      const grant = c.grant ? (c.ok || skipped ? `  [${c.grant}]` : ` -> grant ${c.grant}`) : '';
      say(`  ${status} ${c.name}${grant}${c.detail && !c.ok ? ` (${scrubSecrets(c.detail, secrets.resolvedValues())})` : ''}`);
      if (!c.ok && c.required) ok = false;
    }
  }
  if (!ok) throw new RunFailed('some required permissions are missing');
}
