package dev.pgkit.conversation;

/** How {@link ConversationStore#saveContact} treats a contact's stored values: BuilderBot's {@code action}. */
public enum ContactAction {
    /** {@code 'a'}, the default: the new values are merged into the stored ones (a key in both takes the new value). */
    MERGE("a"),
    /** {@code 'u'}: the new values replace the stored ones. */
    REPLACE("u");

    private final String code;

    ContactAction(String code) {
        this.code = code;
    }

    /** BuilderBot's letter for this action. */
    public String code() {
        return code;
    }

    /**
     * The action BuilderBot's letter names; {@code null} means the default, {@link #MERGE}.
     *
     * @throws IllegalArgumentException for any other letter
     */
    public static ContactAction fromCode(String code) {
        if (code == null || code.equals("a")) {
            return MERGE;
        }
        if (code.equals("u")) {
            return REPLACE;
        }
        throw new IllegalArgumentException("action must be 'a' (merge the values) or 'u' (replace them), was '"
                + (code.length() > 20 ? code.substring(0, 20) + "…" : code) + "'");
    }
}
