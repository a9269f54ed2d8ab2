/**
 * The trend view's files under /app/ (issue 13): the site's rule files published for the app, a
 * missing build answered with a clear 404, never a 500.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../support/test-app.js';

function builtDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'crs-trend-static-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>view</title>');
  writeFileSync(path.join(dir, 'launch.html'), '<!doctype html><title>launch</title>');
  writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'export {};');
  return dir;
}

describe('/app/', () => {
  const rules = { recentWindowHours: 12 };
  const siteCodes = { medications: {} };

  it.each([
    { path: '/app/rules.json', status: 200, type: /json/, body: { rules, siteCodes } },
    { path: '/app/', status: 200, type: /html/ },
    { path: '/app/launch.html', status: 200, type: /html/ },
    {
      path: '/app/nope.js',
      status: 404,
      type: /json/,
      body: { error: 'not-found', message: 'no such file in the trend view' },
    },
  ])('GET $path: $status', async ({ path: url, status, type, body }) => {
    const { app } = buildTestApp({ trendViewDir: builtDir(), trendViewRules: { rules, siteCodes } });
    const res = await request(app).get(url);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(type);
    if (body) expect(res.body).toEqual(body);
  });

  it('hashed assets are cached for good, pages revalidated', async () => {
    const { app } = buildTestApp({ trendViewDir: builtDir() });
    expect((await request(app).get('/app/assets/app-abc123.js')).headers['cache-control']).toContain(
      'immutable',
    );
    expect((await request(app).get('/app/index.html')).headers['cache-control']).toBe('no-cache');
  });

  it('without site files: null rules, the app uses the defaults', async () => {
    const { app } = buildTestApp({ trendViewDir: builtDir() });
    expect((await request(app).get('/app/rules.json')).body).toEqual({ rules: null, siteCodes: null });
  });

  it('not built: a 404 saying so', async () => {
    const { app } = buildTestApp({ trendViewDir: path.join(tmpdir(), 'crs-trend-view-never-built') });
    const res = await request(app).get('/app/launch.html');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: 'not-found',
      message: 'the trend view is not built: run npm run build',
    });
  });
});
