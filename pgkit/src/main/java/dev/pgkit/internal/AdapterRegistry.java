package dev.pgkit.internal;

import dev.pgkit.broadcast.Broadcast;
import dev.pgkit.conversation.ConversationStore;
import dev.pgkit.persistence.Persistence;
import dev.pgkit.state.StateStore;
import dev.pgkit.store.Store;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Every adapter this build of pgkit has: its {@link Component} (schema, cleanups, status tables) and how
 * to build its facade on a {@code Pgkit}'s shared {@link Context}. Internal to pgkit (not exported).
 *
 * <p>An adapter's facade lives in its own exported package but must be built from internal types that
 * no public member may take. So, as the JDK's "shared secrets" do, each facade registers a factory for
 * itself from its static initializer ({@link #register}), calling its private constructor; this
 * registry forces that initialisation before it looks a facade up. Adding an adapter means its package
 * plus one line in {@link #FACADES}.
 */
public final class AdapterRegistry {
    /** The facade of every adapter, in the order {@code pgkit migrate} applies their schemas. */
    private static final List<Class<?>> FACADES = List.of(StateStore.class, ConversationStore.class, Persistence.class, Store.class,
            Broadcast.class);

    /** Builds an adapter's facade with the given options on a {@code Pgkit}'s shared context. */
    @FunctionalInterface
    public interface Factory<O, A> {
        A create(Context context, O options);
    }

    private record Registration<O, A>(Class<O> optionsType, O defaults, Function<O, Component> components, Factory<O, A> factory) {
        A create(Context context, Object options) {
            return factory.create(context, optionsType.cast(options));
        }

        Component component(Object options) {
            return components.apply(optionsType.cast(options));
        }

        Component component() {
            return components.apply(defaults);
        }
    }

    private static final Map<Class<?>, Registration<?, ?>> REGISTERED = new ConcurrentHashMap<>();

    private AdapterRegistry() {
    }

    /**
     * Registers an adapter; called once, from its facade's static initializer.
     *
     * @throws IllegalStateException if the facade is not listed in {@link #FACADES} or registers twice
     */
    public static <O, A> void register(Class<A> facade, Class<O> optionsType, Component component, Factory<O, A> factory) {
        Objects.requireNonNull(component, "component");
        add(facade, new Registration<>(Objects.requireNonNull(optionsType, "optionsType"), null, options -> component,
                Objects.requireNonNull(factory, "factory")));
    }

    /**
     * Registers an adapter whose tables depend on its options (configurable table names or schema):
     * {@code components} gives the component for given options; {@code defaults} are the options
     * {@code pgkit migrate}, {@code schema}, {@code status} and {@code cleanup} use.
     */
    public static <O, A> void register(Class<A> facade, Class<O> optionsType, O defaults, Function<O, Component> components,
                                       Factory<O, A> factory) {
        add(facade, new Registration<>(Objects.requireNonNull(optionsType, "optionsType"), Objects.requireNonNull(defaults, "defaults"),
                Objects.requireNonNull(components, "components"), Objects.requireNonNull(factory, "factory")));
    }

    private static void add(Class<?> facade, Registration<?, ?> registration) {
        if (!FACADES.contains(facade)) {
            throw new IllegalStateException(facade.getName() + " registers itself but is not listed in AdapterRegistry.FACADES");
        }
        if (REGISTERED.putIfAbsent(facade, registration) != null) {
            throw new IllegalStateException(facade.getName() + " registered twice");
        }
    }

    /** Every adapter's component, in migration order. */
    public static List<Component> components() {
        return FACADES.stream().<Component>map(facade -> registration(facade).component()).toList();
    }

    /**
     * Makes the adapter's schema usable on {@code context} (migrated or verified, once per context) and builds
     * its facade with {@code options}.
     */
    public static <A> A open(Class<A> facade, Context context, Object options) {
        Registration<?, ?> registration = registration(facade);
        if (!registration.optionsType().isInstance(Objects.requireNonNull(options, "options"))) {
            throw new IllegalArgumentException(facade.getSimpleName() + " takes " + registration.optionsType().getSimpleName()
                    + ", not " + options.getClass().getSimpleName());
        }
        context.prepare(registration.component(options));
        return facade.cast(registration.create(context, options));
    }

    private static Registration<?, ?> registration(Class<?> facade) {
        initialize(facade);
        Registration<?, ?> registration = REGISTERED.get(facade);
        if (registration == null) {
            throw new IllegalStateException(facade.getName() + " did not register itself: its static initializer must call "
                    + "AdapterRegistry.register");
        }
        return registration;
    }

    /** Runs the facade's static initializer (a class literal alone does not), which registers it. */
    private static void initialize(Class<?> facade) {
        try {
            Class.forName(facade.getName(), true, facade.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("adapter class " + facade.getName() + " cannot be loaded", e);
        }
    }
}
