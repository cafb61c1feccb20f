package dev.pgkit.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of the test server, for faults a real network produces: {@link #stall()} stops
 * forwarding in both directions without closing anything (a half-open connection after a failover
 * without a reset), and {@link #loseAnswerTo(String)} delivers one request to the server but drops
 * its answer and cuts the connection (the commit happened, the client never hears of it).
 */
public final class TcpProxy implements AutoCloseable {
    private final String upstreamHost;
    private final int upstreamPort;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger answersLost = new AtomicInteger();
    private volatile boolean stalled;
    private volatile byte[] marker;
    private volatile boolean closed;

    public TcpProxy(String upstreamHost, int upstreamPort) throws IOException {
        this.upstreamHost = upstreamHost;
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "tcp-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Answers dropped by {@link #loseAnswerTo(String)} so far. */
    public int answersLost() {
        return answersLost.get();
    }

    /** Stops forwarding bytes, in both directions, on every connection; nothing is closed. */
    public void stall() {
        stalled = true;
    }

    /** Forwards again (bytes held during the stall are delivered). */
    public void resume() {
        synchronized (gate) {
            stalled = false;
            gate.notifyAll();
        }
    }

    /**
     * The next request whose bytes contain {@code text} reaches the server, but the server's answer to it
     * is dropped and both sides of that connection are closed.
     */
    public void loseAnswerTo(String text) {
        marker = text.getBytes(StandardCharsets.UTF_8);
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(upstreamHost, upstreamPort);
                sockets.add(client);
                sockets.add(upstream);
                accepted.incrementAndGet();
                Pair pair = new Pair(client, upstream);
                start("tcp-proxy-up", () -> pump(pair, client, upstream, true));
                start("tcp-proxy-down", () -> pump(pair, upstream, client, false));
            } catch (IOException e) {
                if (!closed) {
                    continue;
                }
                return;
            }
        }
    }

    private static final class Pair {
        final Socket client;
        final Socket upstream;
        volatile boolean loseNextAnswer;

        Pair(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void close() {
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private void pump(Pair pair, Socket from, Socket to, boolean request) {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                awaitForwarding();
                if (request) {
                    byte[] wanted = marker;
                    if (wanted != null && contains(buffer, n, wanted)) {
                        marker = null;
                        pair.loseNextAnswer = true;
                    }
                } else if (pair.loseNextAnswer) {
                    answersLost.incrementAndGet();
                    pair.close();
                    return;
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // a side closed
        } finally {
            pair.close();
        }
    }

    private void awaitForwarding() throws InterruptedException {
        synchronized (gate) {
            while (stalled && !closed) {
                gate.wait();
            }
        }
    }

    private static boolean contains(byte[] buffer, int length, byte[] wanted) {
        outer:
        for (int i = 0; i + wanted.length <= length; i++) {
            for (int j = 0; j < wanted.length; j++) {
                if (buffer[i + j] != wanted[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static void start(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        resume();
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
        sockets.forEach(TcpProxy::closeQuietly);
    }
}
