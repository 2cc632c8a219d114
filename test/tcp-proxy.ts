import net from 'node:net';

/**
 * A loopback TCP relay in front of a server, whose connections a test can cut
 * (as a phone losing its network does) and then let through again.
 */
export async function tcpProxy(targetPort: number) {
  const open = new Set<net.Socket>();
  let dropping = false;
  const proxy = net.createServer((client) => {
    if (dropping) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    /** Cuts every connection and refuses new ones until resume(). */
    drop() {
      dropping = true;
      for (const s of open) s.destroy();
    },
    resume() {
      dropping = false;
    },
    close() {
      for (const s of open) s.destroy();
      proxy.close();
    },
  };
}
