// Charts drawn by uPlot (canvas, 50 kB, loaded by lazy-chart.tsx only on a page that draws one): lines with drag-to-zoom (double-click zooms out), bars, and points.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

export interface Series {
  label: string;
  values: (number | null)[];
  color?: string;
  pointSize?: number;
}

export interface ChartProps {
  kind: "line" | "bars" | "points";
  x: number[];
  series: Series[];
  xLabel: string;
  yLabel?: string;
  xNames?: string[]; // bars: the category under each bar
  height?: number;
  title: string; // read by screen readers: a canvas says nothing by itself
}

export function Chart({ kind, x, series, xLabel, yLabel, xNames, height = 260, title }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomed = useRef(false); // the user dragged a range: new points must not zoom back out
  const shape = `${kind}|${series.map((s) => s.label).join("|")}|${(xNames ?? []).join("|")}`;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const bars = uPlot.paths.bars!({ size: [0.6, 64] });
    const options: uPlot.Options = {
      width: Math.max(el.clientWidth, 240),
      height,
      legend: { show: true },
      hooks: { setSelect: [(u: uPlot) => { if (u.select.width > 0) zoomed.current = true; }] },
      cursor: { drag: { x: kind === "line", y: false } },
      scales: { x: { time: false } },
      axes: [
        {
          label: xLabel,
          ...(xNames ? { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => xNames[t] ?? ""), space: 40 } : {}),
        },
        { label: yLabel ?? "", size: 60 },
      ],
      series: [
        { label: xLabel },
        ...series.map((s, i) => {
          const stroke = s.color ?? COLORS[i % COLORS.length];
          if (kind === "bars") return { label: s.label, stroke, fill: stroke + "cc", paths: bars, points: { show: false } };
          if (kind === "points")
            return { label: s.label, stroke, paths: () => null, points: { show: true, size: s.pointSize ?? 8, fill: stroke, space: 0 } };
          return { label: s.label, stroke, width: 2, spanGaps: true, points: { show: false } };
        }),
      ],
    };
    plot.current = new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const unzoom = () => { zoomed.current = false; };
    el.addEventListener("dblclick", unzoom);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 240), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      el.removeEventListener("dblclick", unzoom);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    // new data keeps the chart (and a zoom the user chose, until the next double-click)
    const p = plot.current;
    if (!p) return;
    p.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData, !zoomed.current);
  }, [x, series]);

  const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
  return <div class="chart" ref={box} role="img" aria-label={title} data-points={points} />;
}
