/** Times as the clinician reads them: local date and time with the UTC offset. */
const FORMAT = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'short',
});

export function formatTime(ms: number): string {
  return FORMAT.format(new Date(ms));
}
