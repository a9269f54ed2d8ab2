/**
 * The helper every ../shared-reading test uses prints one visible line when it skips, once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedDataAvailable } from '../support/shared-data.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sharedDataAvailable', () => {
  it('prints one line, once, when the data is absent', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(sharedDataAvailable('some real-data tests', '/nonexistent/shared/data')).toBe(false);
    expect(sharedDataAvailable('some real-data tests', '/nonexistent/shared/data')).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toBe(
      'skipped: some real-data tests: /nonexistent/shared/data is absent (real data from ../shared, not in the repository)',
    );
  });

  it('says nothing when the data is there', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(sharedDataAvailable('the repository itself', process.cwd())).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });
});
