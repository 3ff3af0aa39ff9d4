import { expectTypeOf } from 'expect-type';
import { map, type Observable } from 'rxjs';
import {
  cluster,
  ClusterPrimary,
  form,
  HttpError,
  inject,
  json,
  mockRequest,
  serve,
  text,
  type FormFields,
  type Handler,
  type InjectedResponse,
  type JetRequest,
  type JetResponse,
  type Server,
  connect,
  websocket,
  type CtrlEvent,
  type Message,
  type WebSocketConnection,
  type WebSocketHandler,
} from '../src/index.js';
import type { Subject } from 'rxjs';
import {
  createClient,
  get,
  request,
  type Client,
  type ClientOptions,
  type ClientResponse,
  type EventSourceOptions,
  type Timeouts,
} from '../src/client/index.js';
import { createClient as createRedisClient } from 'redis';
import { createHub, redisBus, type Bus, type Hub, type Topic } from '../src/pubsub/index.js';

describe('public types', () => {
  it("never infers json()'s type from where its result goes", () => {
    // @ts-expect-error: a parsed body is not a response: it must be mapped to one first
    const forgotten: Handler = (req) => json(req);
    const mapped: Handler = (req) => json<{ a: number }>(req).pipe(map(({ a }) => ({ body: String(a) })));
    expectTypeOf(json).returns.toEqualTypeOf<Observable<unknown>>();
    expectTypeOf(forgotten).toExtend<Handler>();
    expectTypeOf(mapped).toExtend<Handler>();
  });

  it('types serve, its server and handlers', () => {
    expectTypeOf(serve).returns.toEqualTypeOf<Promise<Server>>();
    // In the primary, the ClusterPrimary; in a worker, what start() resolved to.
    expectTypeOf(cluster<Server>).returns.toEqualTypeOf<Promise<Server | ClusterPrimary>>();
    expectTypeOf<Server['port']>().toEqualTypeOf<number>();
    expectTypeOf<Server['url']>().toEqualTypeOf<string>();
    expectTypeOf<Server['close']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Handler>().parameter(0).toEqualTypeOf<JetRequest>();
    expectTypeOf<() => JetResponse>().toExtend<Handler>();
    expectTypeOf<() => Promise<JetResponse>>().toExtend<Handler>();
    expectTypeOf<() => Observable<JetResponse>>().toExtend<Handler>();
    expectTypeOf<() => null>().toExtend<Handler>();
    expectTypeOf<() => number>().not.toExtend<Handler>();
  });

  it('types the request map', () => {
    expectTypeOf<JetRequest['body']>().toExtend<Observable<Uint8Array>>();
    expectTypeOf<JetRequest['body']>().toExtend<AsyncIterable<Uint8Array>>();
    expectTypeOf<JetRequest['headers']>().toEqualTypeOf<Readonly<Record<string, string>>>();
    expectTypeOf<JetRequest['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<JetRequest['scheme']>().toEqualTypeOf<'http' | 'https'>();
  });

  it('types responses and the body helpers', () => {
    expectTypeOf<{ body: Observable<string> }>().toExtend<JetResponse>();
    expectTypeOf<{ body: AsyncIterable<Uint8Array> }>().toExtend<JetResponse>();
    expectTypeOf<{ body: number }>().not.toExtend<JetResponse>();
    expectTypeOf(text).returns.toEqualTypeOf<Observable<string>>();
    expectTypeOf(json<{ a: number }>).returns.toEqualTypeOf<Observable<{ a: number }>>();
    expectTypeOf(form).returns.toEqualTypeOf<Observable<FormFields>>();
    expectTypeOf<HttpError['status']>().toEqualTypeOf<number>();
  });

  it('types the testing kit', () => {
    expectTypeOf(mockRequest).returns.toEqualTypeOf<JetRequest>();
    expectTypeOf(inject).returns.toEqualTypeOf<Observable<InjectedResponse>>();
  });

  it('types the WebSocket API', () => {
    expectTypeOf(connect).returns.toEqualTypeOf<Promise<WebSocketConnection>>();
    expectTypeOf(websocket).returns.toEqualTypeOf<Observable<WebSocketConnection>>();
    expectTypeOf<WebSocketConnection['in$']>().toExtend<Observable<string | Uint8Array>>();
    expectTypeOf<WebSocketConnection['out$']>().toEqualTypeOf<Subject<Message>>();
    expectTypeOf<WebSocketConnection['ctrl$']>().toEqualTypeOf<Observable<CtrlEvent>>();
    expectTypeOf<(conn: WebSocketConnection) => Observable<string>>().toExtend<WebSocketHandler>();
    expectTypeOf<{ websocket: WebSocketHandler }>().toExtend<ReturnType<Handler>>();
  });

  it('types the HTTP client by as', () => {
    expectTypeOf(createClient).returns.toEqualTypeOf<Client>();
    expectTypeOf(get(createClient(), 'http://x', { as: 'text' })).toEqualTypeOf<Observable<ClientResponse<string>>>();
    expectTypeOf(get(createClient(), 'http://x', { as: 'bytes' })).toEqualTypeOf<
      Observable<ClientResponse<Uint8Array>>
    >();
    expectTypeOf(get(createClient(), 'http://x')).toEqualTypeOf<Observable<ClientResponse>>();
    expectTypeOf<ClientResponse['body']>().toExtend<Observable<Uint8Array> & AsyncIterable<Uint8Array>>();
    expectTypeOf(request).parameter(0).toEqualTypeOf<Client>();
  });

  it('types the limits the clients hold against hostile servers', () => {
    expectTypeOf<ClientOptions['maxCookies']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ClientOptions['maxCookiesPerDomain']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ClientOptions['maxCookieSize']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Timeouts['total']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<EventSourceOptions['maxBackoff']>().toEqualTypeOf<number | undefined>();
  });

  it('types the hub: a topic is an Observable of its type with publish, and a WebSocket handler may return it', () => {
    expectTypeOf(createHub).returns.toEqualTypeOf<Hub>();
    const room = createHub().topic<{ text: string }>('room');
    expectTypeOf(room).toExtend<Observable<{ text: string }>>();
    expectTypeOf<Topic<{ text: string }>['publish']>().parameter(0).toEqualTypeOf<{ text: string }>();
    expectTypeOf<Topic<{ text: string }>['publish']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(createHub().topic('any')).toEqualTypeOf<Topic<unknown>>();
    expectTypeOf<(conn: WebSocketConnection) => Topic<string>>().toExtend<WebSocketHandler>();
    // @ts-expect-error: a topic of strings takes strings
    void room.publish('not an object');
  });

  it('takes a client of the redis package as it is, and gives a Bus', () => {
    expectTypeOf(redisBus({ client: createRedisClient() })).toEqualTypeOf<Bus>();
    expectTypeOf(redisBus({ url: 'redis://127.0.0.1:6379' })).toEqualTypeOf<Bus>();
  });
});
