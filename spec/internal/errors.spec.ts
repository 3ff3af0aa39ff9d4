import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { errorCodes, RxjetError } from '../../src/index.js';

describe('errors', () => {
  it('lists every code in the README "Error codes" table, and nothing else', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'));
    const documented = [...section.matchAll(/^\|\s*`(RXJET_ERR_[A-Z_]+)`\s*\|\s*`(\w+)`\s*\|/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(documented.map(([code]) => code)).to.have.members(Object.keys(errorCodes));
    for (const [code, name] of documented) {
      expect(errorCodes[code as keyof typeof errorCodes].name, code).to.equal(name);
    }
  });

  it('gives each error its code, its class name and its cause', () => {
    for (const [code, ErrorClass] of Object.entries(errorCodes)) {
      expect(ErrorClass.prototype).to.be.instanceOf(RxjetError);
      const error = Object.create(ErrorClass.prototype) as RxjetError;
      expect(error.name, code).to.equal(ErrorClass.name);
    }
    const cause = new Error('root');
    const error = new RxjetError('RXJET_ERR_HANDLER', 'wrapped', { cause });
    expect(error).to.include({ code: 'RXJET_ERR_HANDLER', message: 'wrapped', cause });
  });
});
