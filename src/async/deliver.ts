/** How long a URL destination has to answer. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** Posts an ended event's record as JSON; rejects unless the destination answers 2xx in time. */
export async function deliverRecord(url: string, record: Record<string, unknown>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-fc-request-id': String(record.requestId) },
    body: JSON.stringify(record),
    signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    redirect: 'manual',
  });
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) throw new Error(`${url} answered ${response.status}`);
}
