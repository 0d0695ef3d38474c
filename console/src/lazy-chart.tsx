// uPlot is more than half the console's script: it is fetched when a page first draws a chart, so the job list
// (the page most opened) starts without it.
import { useEffect, useState } from "preact/hooks";
import type { ChartProps } from "./chart";

type ChartModule = typeof import("./chart");
let loading: Promise<ChartModule> | null = null;

export function Chart(props: ChartProps) {
  const [loaded, setLoaded] = useState<{ module: ChartModule } | null>(null);
  useEffect(() => {
    let live = true;
    (loading ??= import("./chart")).then((module) => live && setLoaded({ module }));
    return () => { live = false; };
  }, []);
  if (!loaded) return <div class="chart" style={{ height: `${props.height ?? 260}px` }} role="img" aria-label={props.title} data-points={0} />;
  return <loaded.module.Chart {...props} />;
}
