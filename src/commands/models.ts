import { Command } from 'commander';
import { getPreset } from '../experiments/presets';
import { groundingFlops, plannerFlops, policyFlops } from '../models/flops';
import { GroundingModel } from '../models/grounding';
import { Planner } from '../models/planner';
import { Policy } from '../models/policy';

/** Parameter counts from the real model code in dry mode (shapes only, no weights allocated). */
export function modelSizes(presetName: string) {
  const p = getPreset(presetName);
  const g = new GroundingModel(p.models.grounding, 0, true);
  const gNone = new GroundingModel({ ...p.models.grounding, conditioning: 'none' }, 0, true);
  const pl = new Planner(p.models.planner, 0, true);
  const po = new Policy(p.models.policy, 0, true);
  return [
    { model: 'grounding (action-conditioned)', params: g.ps.count(), forwardFlops: groundingFlops(p.models.grounding) },
    { model: 'grounding (vision only)', params: gNone.ps.count(), forwardFlops: groundingFlops({ ...p.models.grounding, conditioning: 'none' }) },
    { model: 'planner (Gemma-3-style VLM)', params: pl.ps.count(), forwardFlops: plannerFlops(p.models.planner) },
    { model: 'policy (SmolVLA-style VLA, one chunk)', params: po.ps.count(), forwardFlops: policyFlops(p.models.policy) },
  ];
}

const human = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n));

export function register(program: Command): void {
  program
    .command('models')
    .description("print each model's parameter count and forward FLOPs per example for a preset")
    .option('--preset <name>', 'tiny | small | paper', 'small')
    .option('--json', 'machine-readable output')
    .action((o: { preset: string; json?: boolean }) => {
      const rows = modelSizes(o.preset);
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      console.log(`preset ${o.preset}`);
      for (const r of rows) console.log(`  ${r.model.padEnd(40)} ${human(r.params).padStart(10)} params   ${human(r.forwardFlops).padStart(10)}FLOP / example`);
    });
}
