import { useEffect, useState } from 'react';
import type { RunStore, Snapshot } from './store.js';

/** Frame interval: 50 ms = at most 20 redraws a second however fast events come. */
export const FRAME_MS = 50;

/**
 * The store's snapshot, refreshed at most once per `intervalMs`: the first change after a frame
 * schedules the next one, later changes ride along. Urgent changes (a prompt, Ctrl-C, the end) draw at once.
 */
export function useThrottledState(store: RunStore, intervalMs = FRAME_MS): Snapshot {
  const [snap, setSnap] = useState(() => store.snapshot());
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const draw = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      last = Date.now();
      setSnap(store.snapshot());
    };
    const unsubscribe = store.subscribe((urgent) => {
      if (urgent) return draw();
      if (timer) return;
      timer = setTimeout(draw, Math.max(0, last + intervalMs - Date.now()));
    });
    // events pushed between the first render and subscribing
    setSnap(store.snapshot());
    return () => {
      if (timer) clearTimeout(timer);
      unsubscribe();
    };
  }, [store, intervalMs]);
  return snap;
}
