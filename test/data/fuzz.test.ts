import { strict as assert } from 'node:assert';
import { CORRUPTION_KINDS, fuzzCampaign } from './fuzz-harness';

describe('data: seeded corruption campaign (the full 10,000 cases: npm run bench -- fuzz)', () => {
  it('360 mutations across every corruption kind: each a typed DataError or a correct decode, skip mode accounting for every record', async function () {
    this.timeout(300_000);
    const r = await fuzzCampaign(360, 1);
    assert.deepEqual(r.failures.slice(0, 5), []);
    for (const kind of CORRUPTION_KINDS) {
      const o = r.outcomes[kind] ?? {};
      assert.ok((o.DataError ?? 0) > 0, `${kind} never produced a DataError: ${JSON.stringify(o)}`);
      assert.ok((o['skip-accounted'] ?? 0) + (o.DataError ?? 0) > 0, kind);
    }
    assert.ok(r.slowestMs < 15_000, `slowest case ${r.slowestMs} ms`);
  });
});
