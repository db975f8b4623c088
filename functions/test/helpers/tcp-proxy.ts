/**
 * A TCP proxy on 127.0.0.1 in front of a test server, for what a server does
 * to long-lived connections that the server itself cannot be scripted to do:
 * count every connection opened, close idle ones, or let them die silently
 * (the way a connection dropped by a NAT or by a server while the function's
 * CPU was throttled looks to the client: it only finds out on its next write).
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";

export interface TcpProxy {
  port: number;
  /** Connections accepted since the proxy started. */
  connections(): number;
  /** Ends every open connection from the server's side (FIN), as a server closing idle connections does. */
  closeAll(): void;
  /** Cuts every open connection from the server, without telling the client: its next write is answered with a reset. */
  breakAll(): void;
  /** Cuts both sides of a connection, before forwarding, as soon as the client sends bytes containing `marker`. */
  dropWhenClientSends(marker: string): void;
  /** Resolves once the proxy has no open client connection. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Set once the test has taken the connection over (closeAll, breakAll): the upstream going away is expected. */
  detached: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const changes = new EventEmitter();
  let accepted = 0;
  let dropMarker: string | undefined;

  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, detached: false };
    pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (dropMarker !== undefined && chunk.includes(dropMarker)) {
        upstream.destroy();
        client.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    upstream.on("end", () => client.end());
    client.on("end", () => upstream.end());
    upstream.on("close", () => {
      if (!pair.detached) client.destroy();
    });
    client.on("close", () => {
      upstream.destroy();
      if (pairs.delete(pair)) changes.emit("change");
    });
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    connections: () => accepted,
    closeAll: () => {
      for (const pair of pairs) {
        pair.detached = true;
        pair.upstream.destroy();
        pair.client.end();
      }
    },
    breakAll: () => {
      for (const pair of pairs) {
        pair.detached = true;
        pair.client.removeAllListeners("data");
        pair.upstream.destroy();
        // Whatever the client sends next meets a connection the server has forgotten.
        pair.client.once("data", () => pair.client.resetAndDestroy());
      }
    },
    dropWhenClientSends: (marker) => {
      dropMarker = marker;
    },
    waitForIdle: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (pairs.size === 0) return resolve();
        const check = () => {
          if (pairs.size > 0) return;
          clearTimeout(timer);
          changes.off("change", check);
          resolve();
        };
        const timer = setTimeout(() => {
          changes.off("change", check);
          reject(new Error(`TCP proxy: ${pairs.size} connection(s) still open after ${timeoutMs} ms`));
        }, timeoutMs);
        changes.on("change", check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
