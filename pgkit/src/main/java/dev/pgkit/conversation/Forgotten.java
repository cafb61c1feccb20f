package dev.pgkit.conversation;

/**
 * What {@link ConversationStore#forget} removed, in one transaction.
 *
 * @param phone          the phone forgotten
 * @param contacts       contacts removed (0 or 1)
 * @param historyEntries history entries removed
 */
public record Forgotten(String phone, int contacts, long historyEntries) {
    /** Whether anything was stored for the phone. */
    public boolean removedAnything() {
        return contacts > 0 || historyEntries > 0;
    }
}
