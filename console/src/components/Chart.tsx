import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

/**
 * A time-series chart (uPlot: small, fast, canvas). The canvas is hidden from assistive
 * technology; the caller gives the figures as text beside it (`summary`).
 */
export function Chart({ title, unit, times, series, summary }: { title: string; unit: string; times: number[]; series: Series[]; summary: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current!;
    const width = () => Math.max(260, el.clientWidth);
    const u = new uPlot(
      {
        width: width(),
        height: 200,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false }))],
        axes: [{}, { label: unit, size: 56 }],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      [[], ...series.map(() => [])],
      el,
    );
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: width(), height: 200 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change (a new reason appears), not at every refresh.
  }, [shape, unit]);

  useEffect(() => {
    plot.current?.setData([times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  return (
    <figure class="chart">
      <figcaption>
        <h3>{title}</h3>
        <p class="summary" aria-live="polite">
          {summary}
        </p>
      </figcaption>
      <div ref={box} class="plot" aria-hidden="true" data-points={times.length} />
    </figure>
  );
}
