import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claimStage, runStages, validateStages, type StageSpec } from '../../src/experiments/stage-scheduler';
import { stageDone } from '../../src/experiments/stages';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-sched-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('experiments/stage-scheduler: independent stages in several processes', () => {
  it('rejects unknown dependencies and cycles', () => {
    const run = async () => ({});
    assert.throws(() => validateStages([{ name: 'a', deps: ['b'], run }]), /stage "a" depends on unknown stage "b"/);
    assert.throws(() => validateStages([{ name: 'a', deps: ['b'], run }, { name: 'b', deps: ['a'], run }]), /cycle: a → b → a/);
  });

  it('a claim is exclusive within a session and free in a new one', () => {
    const dir = tmp();
    assert.equal(claimStage(dir, 's1', 'x'), true);
    assert.equal(claimStage(dir, 's1', 'x'), false);
    assert.equal(claimStage(dir, 's2', 'x'), true);
  });

  it('two runners share the stages: each runs exactly once, after its dependencies', async () => {
    const dir = tmp();
    const events: string[] = [];
    const spec = (name: string, deps: string[], ms: number): StageSpec => ({
      name, deps,
      run: async () => {
        events.push(`start ${name}`);
        for (const d of deps) assert.ok(stageDone(dir, d), `${name} started before ${d} finished`);
        await sleep(ms);
        events.push(`end ${name}`);
        return {};
      },
    });
    const specs = [spec('base', [], 30), spec('g1', [], 40), spec('sft', ['base'], 30), spec('g2', [], 20), spec('mix', ['sft', 'g1'], 10), spec('vis', ['base', 'g2'], 10)];
    const [a, b] = await Promise.all([
      runStages(dir, specs, { session: 's', log: () => undefined, pollMs: 5 }),
      runStages(dir, specs, { session: 's', log: () => undefined, pollMs: 5 }),
    ]);
    assert.deepEqual([...a, ...b].sort(), specs.map((s) => s.name).sort());
    assert.ok(a.length > 0 && b.length > 0, `both runners worked: ${a} | ${b}`);
    for (const s of specs) assert.equal(events.filter((e) => e === `start ${s.name}`).length, 1);
  });

  it("a failed peer stops the waiting runner with the peer's error", async () => {
    const dir = tmp();
    claimStage(dir, 's', 'slow'); // held by a "peer" that never finishes
    const specs: StageSpec[] = [{ name: 'slow', deps: [], run: async () => ({}) }, { name: 'after', deps: ['slow'], run: async () => ({}) }];
    let calls = 0;
    await assert.rejects(
      runStages(dir, specs, { session: 's', log: () => undefined, pollMs: 5, peerError: () => (++calls > 3 ? new Error('worker 2 failed (exit 1)') : null) }),
      /worker 2 failed \(exit 1\)/,
    );
  });
});
