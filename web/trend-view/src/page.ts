/** Small helpers both pages share. */
export const APP_CONTEXT_STORAGE_KEY = 'crs-trend-view.appContext';

/** A failure the user can act on, in the page (no stack trace). */
export function showFatal(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const box = document.getElementById('status') ?? document.body;
  box.textContent = `The CRS trend view could not open: ${message}`;
  box.setAttribute('role', 'alert');
  box.classList.add('error');
}
