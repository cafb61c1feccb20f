package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/**
 * A client socket connected to another server of the cluster, as {@code fetchSockets} reports it.
 *
 * @param id        the socket's id
 * @param rooms     the rooms it is in (its own id among them)
 * @param data      its {@code socket.data}
 * @param handshake its handshake (headers, query, address, ...)
 */
public record RemoteSocket(String id, Set<String> rooms, JsonNode data, JsonNode handshake) {
    public RemoteSocket {
        rooms = Set.copyOf(rooms);
    }
}
