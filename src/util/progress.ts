/**
 * Progress for long work: a bar with rate and ETA on a terminal, periodic plain lines otherwise (logs, CI,
 * notebooks), so the same call reads well everywhere.
 */
import * as cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by `n` and optionally update the named values shown beside the bar (e.g. loss). */
  tick(n?: number, values?: Record<string, number | string>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Label shown before the bar. */
  label: string;
  total: number;
  /** Unit for the rate, e.g. "steps" or "episodes". */
  unit?: string;
  /** Plain-line mode: seconds between lines (default 10). */
  everySeconds?: number;
  /** Force plain lines even on a TTY, or silence entirely. */
  mode?: 'auto' | 'lines' | 'silent';
  stream?: NodeJS.WriteStream;
}

const fmtValues = (values: Record<string, number | string>) =>
  Object.entries(values)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(4)) : v}`)
    .join('  ');

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'it';
  const mode = opts.mode === 'silent' || process.env.GPLA_PROGRESS === 'silent' ? 'silent'
    : opts.mode === 'lines' || !stream.isTTY || process.env.CI ? 'lines' : 'bar';
  const start = Date.now();
  let done = 0;
  let values: Record<string, number | string> = {};
  if (mode === 'silent') {
    return { tick: (n = 1) => void (done += n), stop: () => undefined };
  }
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${opts.label} [{bar}] {value}/{total} {rate} ${unit}/s ETA {eta_formatted} {values}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, 0, { rate: '0', values: '' });
    return {
      tick(n = 1, v) {
        done += n;
        if (v) values = { ...values, ...v };
        const rate = done / Math.max(1e-3, (Date.now() - start) / 1000);
        bar.update(done, { rate: rate.toFixed(rate < 10 ? 2 : 0), values: fmtValues(values) });
      },
      stop: () => bar.stop(),
    };
  }
  const every = (opts.everySeconds ?? 10) * 1000;
  let last = start;
  const line = () => {
    const secs = (Date.now() - start) / 1000;
    const rate = done / Math.max(1e-3, secs);
    const eta = rate > 0 ? (opts.total - done) / rate : Infinity;
    stream.write(
      `${opts.label}: ${done}/${opts.total} (${((100 * done) / Math.max(1, opts.total)).toFixed(0)}%) ` +
        `${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s ETA ${fmtSeconds(eta)} ${fmtValues(values)}\n`,
    );
  };
  return {
    tick(n = 1, v) {
      done += n;
      if (v) values = { ...values, ...v };
      const now = Date.now();
      if (now - last >= every) {
        last = now;
        line();
      }
    },
    stop() {
      line();
    },
  };
}
