package dev.pgkit.store;

import java.time.Duration;

/**
 * What one sync round did.
 *
 * @param pushed         local queue entries sent to the remote
 * @param pulled         the remote's change-feed entries received (those this store had pushed are skipped)
 * @param writtenRemote  rows the remote changed (a change it already had changes nothing)
 * @param writtenLocal   rows this store changed
 * @param conflicts      conflicts kept (both sides)
 * @param took           how long the round took
 */
public record SyncReport(long pushed, long pulled, long writtenRemote, long writtenLocal, long conflicts, Duration took) {
    /** Whether the round changed nothing on either side (the stores had converged). */
    public boolean changedNothing() {
        return writtenRemote == 0 && writtenLocal == 0;
    }
}
