export interface Bar {
  label: string;
  value: number;
  /** What is read out (defaults to the value). */
  text?: string;
  /** A second bar under the first, e.g. the baseline period beside the current one. */
  compare?: number;
  tone?: 'ok' | 'warn' | 'bad';
}

/**
 * A horizontal bar chart in plain HTML: each bar's label and figure are text, so it reads the
 * same to a screen reader and reflows to a phone's width; the bars themselves are decoration.
 */
export function Bars({ title, bars, legend }: { title: string; bars: Bar[]; legend?: [string, string] }) {
  const max = Math.max(1e-12, ...bars.flatMap((b) => [b.value, b.compare ?? 0]));
  const width = (v: number) => ({ width: `${Math.max(0, (100 * v) / max)}%` });
  return (
    <figure class="bars">
      <figcaption>
        {title}
        {legend && (
          <span class="muted">
            {' '}
            (<span class="swatch" aria-hidden="true" /> {legend[0]}, <span class="swatch compare" aria-hidden="true" /> {legend[1]})
          </span>
        )}
      </figcaption>
      <ul>
        {bars.map((b, i) => (
          <li key={i}>
            <span class="bar-label">{b.label}</span>
            <span class="bar-track" aria-hidden="true">
              <span class={`bar ${b.tone ?? ''}`} style={width(b.value)} />
              {b.compare !== undefined && <span class="bar compare" style={width(b.compare)} />}
            </span>
            <span class="bar-value">{b.text ?? String(b.value)}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
