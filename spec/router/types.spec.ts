import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import { map } from 'rxjs';
import { z } from 'zod';
import {
  compress,
  inject,
  mockRequest,
  problemJson,
  serveStatic,
  validate,
  cors,
  requestId,
  deriveRequest,
  router,
  serve,
  withMiddleware,
  type Handler,
  type JetRequest,
  type Middleware,
  type PathParams,
  type Router,
} from '../../src/index.js';

describe('router types', () => {
  it('types params from the pattern', () => {
    expectTypeOf<PathParams<'/users/:id'>>().toEqualTypeOf<Readonly<{ id: string }>>();
    expectTypeOf<PathParams<'/orgs/:org/repos/:repo'>>().toEqualTypeOf<Readonly<{ org: string; repo: string }>>();
    expectTypeOf<PathParams<'/files/*'>>().toEqualTypeOf<Readonly<{ '*': string }>>();
    expectTypeOf<PathParams<string>>().toEqualTypeOf<Readonly<Record<string, string>>>();
    router()
      .get('/users/:id', (req) => {
        expectTypeOf(req.params.id).toEqualTypeOf<string>();
        expectTypeOf(req.searchParams).toEqualTypeOf<URLSearchParams>();
        expectTypeOf(req.route).toEqualTypeOf<string>();
        // @ts-expect-error: the pattern has no :name
        expectTypeOf(req.params.name).toBeString();
        return null;
      })
      .get('/assets/*', (req) => ({ body: req.params['*'] }));
  });

  it('gives routes the fields their middleware add, router-wide and per route', () => {
    const withId: Middleware<{ id: string }> = (req, next) => next(deriveRequest(req, { id: 'x' }));
    const withUser: Middleware<{ user: { name: string } }> = (req, next) =>
      next(deriveRequest(req, { user: { name: 'ada' } }));
    const app = router()
      .use(withId)
      .get('/me', (req) => {
        expectTypeOf(req.id).toEqualTypeOf<string>();
        // @ts-expect-error: only the route below adds a user
        expectTypeOf(req.user).toBeObject();
        return null;
      })
      .get(
        '/profile/:tab',
        (req) => {
          expectTypeOf(req.user.name).toEqualTypeOf<string>();
          expectTypeOf(req.id).toEqualTypeOf<string>();
          expectTypeOf(req.params.tab).toEqualTypeOf<string>();
          return { body: req.user.name };
        },
        { use: [withUser], timeout: 1000 },
      );
    expectTypeOf(app).toExtend<Router<JetRequest & { id: string }>>();
  });

  it('gives the fields of every middleware in one use(), beside others that add none', () => {
    router()
      .use(requestId(), cors(), (req, next) => next())
      .get('/', (req) => {
        expectTypeOf(req.id).toEqualTypeOf<string>();
        return null;
      });
  });

  it('types an inline middleware from where it is used', () => {
    router()
      .use((req, next) => {
        expectTypeOf(req.headers).toEqualTypeOf<Readonly<Record<string, string>>>();
        return next();
      })
      .get('/users/:id', () => null, {
        use: [
          (req, next) => {
            expectTypeOf(req.params.id).toEqualTypeOf<string>();
            return next();
          },
        ],
      });
  });

  it("compiles the contract's own example as written", () => {
    const userSchema = z.object({ name: z.string() });
    const api = router()
      .use(requestId(), cors({ origin: ['https://app.example'] }))
      .get('/users/:id', (req) => ({ body: `user ${req.params.id}` }))
      .post('/users', (req) => ({ status: 201, body: JSON.stringify(req.valid.body) }), {
        use: [validate({ body: userSchema })],
        timeout: 2_000,
      });
    const app = router()
      .use(problemJson(), compress())
      .mount('/api', api)
      .get('/assets/*', serveStatic('public'))
      .get('/chat', () => ({ websocket: (conn) => conn.in$.subscribe(conn.out$) }));
    expectTypeOf(serve).toBeCallableWith({ handler: app });
    expectTypeOf(inject).toBeCallableWith(app, mockRequest());
  });

  it('is a Handler: served, wrapped and mounted with no cast', () => {
    const app = router().get('/', () => ({ body: 'ok' }));
    expectTypeOf(app).toExtend<Handler>();
    expectTypeOf(withMiddleware(app, (req, next) => next().pipe(map((res) => res)))).toExtend<Handler>();
    expectTypeOf(router().mount('/api', app)).toExtend<Router>();
    expectTypeOf(serve).toBeCallableWith({ handler: app });
    expect(typeof app).to.equal('function');
  });
});
