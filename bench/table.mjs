// One row per figure: measured value, target, ratio to the target's reference, PASS/MISS.

const fmt = (x, digits = 0) =>
  typeof x === 'number'
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : x;

export class Table {
  rows = [];

  /** A figure with no target of its own (a reference for other rows). */
  info(name, value, unit = 'ops/s') {
    this.rows.push([name, `${fmt(value)} ${unit}`, '', '', '']);
  }

  /** value / reference must be >= min (a throughput ratio). */
  atLeast(name, value, reference, min, refName, unit = 'ops/s') {
    const ratio = value / reference;
    this.rows.push([
      name,
      `${fmt(value)} ${unit}`,
      `>= ${min} x ${refName}`,
      `${fmt(ratio, 2)} x`,
      ratio >= min ? 'PASS' : 'MISS',
    ]);
  }

  /** value must be < max (a cost: delay, memory growth, leaks). */
  below(name, value, max, unit) {
    this.rows.push([
      name,
      `${fmt(value, 2)} ${unit}`,
      `< ${max} ${unit}`,
      `${fmt(value / max, 2)} x`,
      value < max ? 'PASS' : 'MISS',
    ]);
  }

  equal(name, value, expected) {
    this.rows.push([name, String(value), `= ${expected}`, '', value === expected ? 'PASS' : 'MISS']);
  }

  toMarkdown() {
    const head = ['measurement', 'value', 'target', 'ratio', 'result'];
    const lines = [head, head.map(() => '---'), ...this.rows].map((cells) => `| ${cells.join(' | ')} |`);
    return lines.join('\n');
  }
}
