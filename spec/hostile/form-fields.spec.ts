import { expect } from 'chai';
import { map } from 'rxjs';
import { form } from '../../src/server/index.js';
import { closeAll, fetchText, start } from '../helpers.js';

/*
 * A form body of many tiny fields: 1 MiB of `k0=&k1=&...` is about 128,000 fields, a tenth of a
 * second of CPU per request to parse. `form()` counts the fields before parsing any and answers
 * 413 past `maxFields` (1000 by default, as body-parser and node's querystring).
 */

/** `count` fields `k0=&k1=&...`. */
const fields = (count: number): string => Array.from({ length: count }, (_, i) => `k${i}=`).join('&');

describe('hostile: a form with too many fields', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  const post = (url: string, body: string) =>
    fetchText(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

  it('answers 413 to 1 MiB of empty fields without parsing them, and keeps serving', async () => {
    let parsed = 0;
    const server = await start((req) =>
      form(req).pipe(
        map((f) => {
          parsed++;
          return { body: String(Object.keys(f).length) };
        }),
      ),
    );
    const body = fields(130_000).slice(0, 1024 * 1024 - 1);
    const refused = await post(`${server.url}/`, body);
    expect(refused.status).to.equal(413);
    expect(refused.body).to.equal('The form has more than 1000 fields.');
    expect(parsed).to.equal(0);
    expect(server.errors).to.deep.equal([]);
    expect(await post(`${server.url}/`, 'name=ann')).to.include({ status: 200, body: '1' });
  });

  it('takes exactly 1000 fields, repeats and empty segments counted as a parser would', async () => {
    const server = await start((req) => form(req).pipe(map((f) => ({ body: String(Object.keys(f).length) }))));
    expect(await post(`${server.url}/`, fields(1000))).to.include({ status: 200, body: '1000' });
    expect((await post(`${server.url}/`, fields(1001))).status).to.equal(413);
    expect(await post(`${server.url}/`, `${fields(1000)}&&&`)).to.include({ status: 200, body: '1000' });
    expect((await post(`${server.url}/`, Array.from({ length: 1001 }, () => 'a=1').join('&'))).status).to.equal(413);
  });

  it('takes maxFields per call, and refuses a bad one with InvalidOptionError', async () => {
    const server = await start((req) =>
      form(req, { maxFields: req.path === '/bad' ? 0 : 2 }).pipe(map((f) => ({ body: Object.keys(f).join(',') }))),
    );
    expect(await post(`${server.url}/`, 'a=1&b=2')).to.include({ status: 200, body: 'a,b' });
    expect(await post(`${server.url}/`, 'a=1&b=2&c=3')).to.include({
      status: 413,
      body: 'The form has more than 2 fields.',
    });
    expect((await post(`${server.url}/bad`, 'a=1')).status).to.equal(500);
    expect((server.errors[0] as Error & { code?: string }).code).to.equal('RXJET_ERR_INVALID_OPTION');
  });
});
