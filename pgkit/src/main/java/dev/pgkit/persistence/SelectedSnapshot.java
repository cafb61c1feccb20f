package dev.pgkit.persistence;

/** A loaded snapshot: its metadata and the user's state, decoded by the codec. */
public record SelectedSnapshot<S>(SnapshotMetadata metadata, S snapshot) {
}
