import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkReproduceArgs } from '../../src/commands/reproduce';
import { applySets, isIntegerField, parseSet } from '../../src/experiments/overrides';
import { getPreset } from '../../src/experiments/presets';
import { validateRunConfig } from '../../src/experiments/run';
import { parseVary } from '../../src/experiments/sweep';

describe('experiments: --set path=value', () => {
  it('changes schedule and model fields by name, read as the field\'s type', () => {
    const p = getPreset('small');
    applySets(p, ['simpo.beta=2.5', 'policy.steps=3000', 'simpo.rejectInvalid=true', 'data.blocks=real', 'models.planner.layers=6', 'models.grounding.pixelMean=0.2,0.21,0.22', 'models.grounding.pooling=mean', 'policy.peakLr=3e-4']);
    assert.equal(p.schedule.simpo.beta, 2.5);
    assert.equal(p.schedule.policy.steps, 3000);
    assert.equal(p.schedule.simpo.rejectInvalid, true);
    assert.equal(p.schedule.data.blocks, 'real');
    assert.equal(p.models.planner.layers, 6);
    assert.deepEqual(p.models.grounding.pixelMean, [0.2, 0.21, 0.22]);
    assert.equal(p.models.grounding.pooling, 'mean');
    assert.equal(p.schedule.policy.peakLr, 3e-4);
    // The preset table itself is untouched.
    assert.equal(getPreset('small').schedule.simpo.beta, 2);
  });

  it('refuses bad paths and values, naming the option and what was expected', () => {
    const p = getPreset('small');
    assert.throws(() => parseSet('simpo.beta'), /--set simpo.beta: expected path=value/);
    assert.throws(() => parseSet('simpo.beta='), /no value after "="/);
    assert.throws(() => applySets(p, ['simpo.betta=2']), /no field "betta" in simpo; accepted: iterations, candidates/);
    assert.throws(() => applySets(p, ['optim.lr=2']), /no group "optim"; accepted here: data, grounding/);
    assert.throws(() => applySets(p, ['policy.steps=1.5']), /--set policy.steps=1.5: expected an integer, got "1.5"/);
    assert.throws(() => applySets(p, ['simpo.beta=abc']), /expected a finite number, got "abc"/);
    assert.throws(() => applySets(p, ['simpo.rejectInvalid=yes']), /expected true or false/);
    assert.throws(() => applySets(p, ['models.grounding.pixelMean=0.2,0.2']), /expected 3 comma-separated numbers/);
    assert.throws(() => applySets(p, ['models.planner.vocab=300']), /derived from the tokenizer/);
    assert.throws(() => applySets(p, ['models.policy.image=96']), /derived from data.imageSize; set that instead/);
    assert.throws(() => applySets(p, ['simpo=3']), /a group of fields/);
    assert.throws(() => applySets(p, ['data.blocks=5']), /a block set \(4, 8 or real\)/);
  });

  it('integer fields are those that count; a real field may hold a whole number', () => {
    assert.equal(isIntegerField('steps', 200), true);
    assert.equal(isIntegerField('beta', 2), false);
    assert.equal(isIntegerField('peakLr', 0.001), false);
  });

  it('a run made with --set is read back (a whole-number real field set to 2.5 is valid) and must be resumed with the same changes', () => {
    const p = getPreset('tiny');
    applySets(p, ['simpo.beta=2.5']);
    const cfg = { preset: 'tiny', seed: 0, sets: ['simpo.beta=2.5'], data: '/x', backend: 'cpu', git: 'x', models: p.models, schedule: p.schedule };
    assert.equal(validateRunConfig(cfg, 'config.json').schedule.simpo.beta, 2.5);
    assert.throws(() => validateRunConfig({ ...cfg, sets: [3] }, 'config.json'), /field "sets": expected a list of "path=value" strings/);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-set-'));
    fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(cfg));
    assert.throws(() => checkReproduceArgs({ preset: 'tiny', out, seed: 0, set: ['simpo.beta=3'] }), /holds another run: --set simpo.beta=3 \(the run has \["simpo.beta=2.5"\]\)/);
    const resume: { preset: string; out: string; seed: number; set?: string[] } = { preset: 'tiny', out, seed: 0 };
    checkReproduceArgs(resume);
    assert.deepEqual(resume.set, ['simpo.beta=2.5'], 'resuming without --set keeps the run\'s own');
    assert.throws(() => checkReproduceArgs({ preset: 'tiny', out: path.join(out, 'new'), seed: 0, set: ['simpo.nope=1'] }), /no field "nope"/);
  });
});

describe('experiments: gpla sweep --vary', () => {
  it('reads a SimPO field and its values, and refuses fields that would need retraining', () => {
    assert.deepEqual(parseVary('simpo.beta=1, 2,4'), { path: 'simpo.beta', values: ['1', '2', '4'] });
    assert.throws(() => parseVary('policy.steps=100,200'), /only simpo\.\* fields can be swept from a trained run/);
    assert.throws(() => parseVary('simpo.beta=,'), /no values/);
  });
});
