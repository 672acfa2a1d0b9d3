# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Exact replay of the transport solver behind the published barycenter.

``gudhi.wasserstein.wasserstein_distance(..., matching=True)`` calls
``ot.emd`` (POT 0.9.7), a primal network simplex (LEMON's, adapted by
Bonneel et al.) with heuristic initial pivots and the block-search pivot
rule.  When a transport problem has several optimal solutions, which one it
returns is decided by the order in which that solver visits arcs, and the
published TopoFD depends on it (see ``barycenter.py`` and ``pot_replay.py``).

:func:`emd_pairs` runs the same algorithm on the same problem -- the same
initial basis, the same entering arc at every pivot (same arc order, same
block size, same floating-point expression for reduced costs, same
tolerance), the same leaving arc and the same potential updates -- and so
ends at the same vertex (plans checked against ``ot.emd`` in
``tests/test_simplex.py``; on real barycenter problems the number of pivots
and of arcs scanned also matched an instrumented build of POT's source).  It does the
same pivots as POT, only cheaper: a block scan walks one row (one source
potential) at a time over contiguous costs, where POT decodes each arc's
endpoints (``benchmarks/bench_topofd.py`` shows the effect on the whole
protocol: 113.5 s with POT solving the ties, 52.3 s with this replay).  Caching row minima and bounding rows from below were
tried and dropped: column potentials change in about one pivot in four,
which invalidates any row cache, and the bound rarely prunes.

Only the full-support dense case is replayed (every supply and demand
positive); that is the only case the barycenter produces.

The spanning tree is kept as parent/pred/forward arrays with child lists
instead of LEMON's thread lists: the pivots only observe parents, subtree
sizes and the set of nodes below a node, which any exact tree
representation gives.
"""
import numpy as np
from libc.math cimport fabs, sqrt, INFINITY

ctypedef long long idx_t

cdef double EPS_BLOCK = 2.2204460492503131e-15  # POT's EPSILON (pivot tolerance)
cdef double EPS_SUPPLY = 1e-8                  # POT's _EPSILON (supply balance)
cdef signed char LOWER = 1
cdef signed char TREE = 0
cdef signed char UPPER = -1


cdef struct Net:
    idx_t n2, N, A
    const double* C          # real-arc costs in internal arc order
    double* art_cost
    idx_t* art_src
    idx_t* art_tgt
    double* flow             # A + N
    signed char* state       # A + N
    double* pi               # N + 1
    double* supply           # N + 1
    idx_t* parent
    idx_t* pred
    signed char* forward
    idx_t* succ
    idx_t* first_child
    idx_t* next_sib
    idx_t* prev_sib
    idx_t* stack
    idx_t in_arc, join, u_in, v_in, u_out
    double delta


cdef inline idx_t arc_src(Net* g, idx_t e) noexcept nogil:
    if e < g.A:
        return g.n2 + e // g.n2
    return g.art_src[e - g.A]


cdef inline idx_t arc_tgt(Net* g, idx_t e) noexcept nogil:
    if e < g.A:
        return e % g.n2
    return g.art_tgt[e - g.A]


cdef inline double arc_cost(Net* g, idx_t e) noexcept nogil:
    if e < g.A:
        return g.C[e]
    return g.art_cost[e - g.A]


cdef inline void add_child(Net* g, idx_t p, idx_t c) noexcept nogil:
    cdef idx_t h = g.first_child[p]
    g.next_sib[c] = h
    g.prev_sib[c] = -1
    if h >= 0:
        g.prev_sib[h] = c
    g.first_child[p] = c


cdef inline void remove_child(Net* g, idx_t p, idx_t c) noexcept nogil:
    cdef idx_t a = g.prev_sib[c], b = g.next_sib[c]
    if a >= 0:
        g.next_sib[a] = b
    else:
        g.first_child[p] = b
    if b >= 0:
        g.prev_sib[b] = a


cdef void find_join(Net* g) noexcept nogil:
    cdef idx_t u = arc_src(g, g.in_arc), v = arc_tgt(g, g.in_arc)
    while u != v:
        if g.succ[u] < g.succ[v]:
            u = g.parent[u]
        else:
            v = g.parent[v]
    g.join = u


cdef bint find_leaving(Net* g) noexcept nogil:
    cdef idx_t first, second, u, e
    cdef double d, INF = INFINITY
    cdef int result = 0
    if g.state[g.in_arc] == LOWER:
        first = arc_src(g, g.in_arc)
        second = arc_tgt(g, g.in_arc)
    else:
        first = arc_tgt(g, g.in_arc)
        second = arc_src(g, g.in_arc)
    g.delta = INF
    u = first
    while u != g.join:
        e = g.pred[u]
        d = g.flow[e] if g.forward[u] else INF
        if d < g.delta:
            g.delta = d
            g.u_out = u
            result = 1
        u = g.parent[u]
    u = second
    while u != g.join:
        e = g.pred[u]
        d = INF if g.forward[u] else g.flow[e]
        if d <= g.delta:
            g.delta = d
            g.u_out = u
            result = 2
        u = g.parent[u]
    if result == 1:
        g.u_in = first
        g.v_in = second
    else:
        g.u_in = second
        g.v_in = first
    return result != 0


cdef void change_flow(Net* g, bint change) noexcept nogil:
    cdef double val
    cdef idx_t u, e
    if g.delta > 0:
        val = g.state[g.in_arc] * g.delta
        g.flow[g.in_arc] += val
        u = arc_src(g, g.in_arc)
        while u != g.join:
            g.flow[g.pred[u]] += -val if g.forward[u] else val
            u = g.parent[u]
        u = arc_tgt(g, g.in_arc)
        while u != g.join:
            g.flow[g.pred[u]] += val if g.forward[u] else -val
            u = g.parent[u]
    if change:
        g.state[g.in_arc] = TREE
        e = g.pred[g.u_out]
        g.state[e] = LOWER if g.flow[e] == 0 else UPPER
    else:
        g.state[g.in_arc] = -g.state[g.in_arc]


cdef void update_tree(Net* g) noexcept nogil:
    """Hang the subtree of ``u_out`` below ``v_in`` by the entering arc,
    re-rooted at ``u_in``: the stem u_in = s_0, s_1 = parent(s_0), ...,
    s_k = u_out reverses, s_i's tree arc becomes s_{i-1}'s old one (flipped),
    and its subtree size becomes |T(u_out)| - |old T(s_{i-1})|."""
    cdef idx_t u_in = g.u_in, u_out = g.u_out, v_in = g.v_in
    cdef idx_t v_out = g.parent[u_out]
    cdef idx_t S = g.succ[u_out]
    cdef idx_t u = u_in, w = v_in, nxt, old_pred, old_size, prev_size = 0
    cdef idx_t new_pred = g.in_arc
    cdef signed char old_fwd, new_fwd = 1 if u_in == arc_src(g, g.in_arc) else 0
    remove_child(g, v_out, u_out)
    while True:
        nxt = g.parent[u]
        old_pred = g.pred[u]
        old_fwd = g.forward[u]
        old_size = g.succ[u]
        if u != u_out:
            remove_child(g, nxt, u)
        g.parent[u] = w
        add_child(g, w, u)
        g.pred[u] = new_pred
        g.forward[u] = new_fwd
        g.succ[u] = S if u == u_in else S - prev_size
        if u == u_out:
            break
        prev_size = old_size
        new_pred = old_pred
        new_fwd = 0 if old_fwd else 1
        w = u
        u = nxt
    u = v_in
    while u != g.join:
        g.succ[u] += S
        u = g.parent[u]
    u = v_out
    while u != g.join:
        g.succ[u] -= S
        u = g.parent[u]


cdef void update_potential(Net* g) noexcept nogil:
    cdef idx_t u_in = g.u_in, e = g.pred[u_in]
    cdef double sigma
    if g.forward[u_in]:
        sigma = g.pi[g.v_in] - g.pi[u_in] - arc_cost(g, e)
    else:
        sigma = g.pi[g.v_in] - g.pi[u_in] + arc_cost(g, e)
    cdef idx_t top = 0, u, c
    g.stack[top] = u_in
    top = 1
    while top > 0:
        top -= 1
        u = g.stack[top]
        g.pi[u] += sigma
        c = g.first_child[u]
        while c >= 0:
            g.stack[top] = c
            top += 1
            c = g.next_sib[c]


cdef inline bint pivot(Net* g) noexcept nogil:
    """One pivot on ``g.in_arc``; False when the problem is unbounded."""
    find_join(g)
    cdef bint change = find_leaving(g)
    if g.delta >= 1.79769313486231570815e+308:
        return False
    change_flow(g, change)
    if change:
        update_tree(g)
        update_potential(g)
    return True


cdef inline double reduced(Net* g, idx_t e) noexcept nogil:
    """POT's expression, evaluated in its order: state * (cost + pi_s - pi_t)."""
    return g.state[e] * (g.C[e] + g.pi[g.n2 + e // g.n2] - g.pi[e % g.n2])


cdef inline double _scale(Net* g) noexcept nogil:
    """POT's tolerance scale for the current entering candidate:
    max(|pi_source|, |pi_target|, |cost|)."""
    cdef idx_t e = g.in_arc
    cdef double a = fabs(g.pi[arc_src(g, e)])
    cdef double b = fabs(g.pi[arc_tgt(g, e)])
    a = a if a > b else b
    b = fabs(arc_cost(g, e))
    return a if a > b else b


cdef inline bint block_done(Net* g, double mn) noexcept nogil:
    """POT's block-end test: the best arc so far is negative enough."""
    return mn < -EPS_BLOCK * _scale(g)


cdef bint scan(Net* g, idx_t lo, idx_t hi, idx_t B, idx_t* cnt, double* mn, idx_t* stop) noexcept nogil:
    """Block search over arcs [lo, hi); True (and the arc where it stopped in
    ``stop``) when a block ended with an entering arc.  Arcs are visited in
    runs that stay inside one row (one source potential) and one block."""
    cdef idx_t e = lo, n2 = g.n2, end, t, t0
    cdef double ps, c, best = mn[0]
    cdef idx_t arg = -1
    cdef const double* C = g.C
    cdef const signed char* st = g.state
    cdef const double* pi = g.pi
    while e < hi:
        t0 = e % n2
        end = e + (n2 - t0)
        if end > hi:
            end = hi
        if end > e + cnt[0]:
            end = e + cnt[0]
        ps = pi[n2 + e // n2]
        for t in range(t0, t0 + (end - e)):
            c = st[e - t0 + t] * (C[e - t0 + t] + ps - pi[t])
            if c < best:
                best = c
                arg = e - t0 + t
        cnt[0] -= end - e
        e = end
        if cnt[0] == 0:
            if arg >= 0:
                g.in_arc = arg
                arg = -1
            mn[0] = best
            if block_done(g, best):
                stop[0] = e - 1
                return True
            cnt[0] = B
    if arg >= 0:
        g.in_arc = arg
    mn[0] = best
    return False


cdef bint find_entering(Net* g, idx_t* next_arc, idx_t B) noexcept nogil:
    cdef double mn = 0
    cdef idx_t cnt = B, stop = 0
    if scan(g, next_arc[0], g.A, B, &cnt, &mn, &stop) or scan(g, 0, next_arc[0], B, &cnt, &mn, &stop):
        next_arc[0] = stop
        return True
    return block_done(g, mn)


def emd_pairs(const double[:, ::1] M, const double[::1] a, const double[::1] b, long long max_iter=2000000):
    """Positive-flow cells ``(rows, cols)`` (row-major order, as
    ``np.argwhere``) of the transport plan ``ot.emd(a, b, M)`` returns, and a
    status (1 optimal, 3 iteration limit, 0/2 failure).

    Every entry of ``a`` and ``b`` must be positive and ``sum(a) == sum(b)``
    (integers, as in the barycenter); the caller falls back to POT otherwise.
    """
    cdef idx_t n1 = M.shape[0], n2 = M.shape[1]
    cdef idx_t N = n1 + n2, A = n1 * n2, u, e, i, j, s, t, best_e
    cdef Net g
    cdef double total, ART, mx, c, best
    if a.shape[0] != n1 or b.shape[0] != n2 or n1 == 0 or n2 == 0:
        raise ValueError("shapes of a, b and M disagree")
    Cr = np.ascontiguousarray(np.asarray(M).ravel()[::-1])  # internal arc order
    cdef const double[::1] Cv = Cr
    flow = np.zeros(A + N)
    cdef double[::1] fv = flow
    state = np.empty(A + N, dtype=np.int8)
    cdef signed char[::1] sv = state
    pi = np.zeros(N + 1)
    cdef double[::1] piv = pi
    supply = np.zeros(N + 1)
    cdef double[::1] supv = supply
    ints = np.full((9, N + 1), -1, dtype=np.longlong)
    cdef long long[:, ::1] iv = ints
    art = np.zeros(N)
    cdef double[::1] artv = art
    fwd = np.zeros(N + 1, dtype=np.int8)
    cdef signed char[::1] fwdv = fwd
    g.n2 = n2; g.N = N; g.A = A
    g.C = &Cv[0]
    g.art_cost = &artv[0]
    g.art_src = &iv[0, 0]
    g.art_tgt = &iv[1, 0]
    g.flow = &fv[0]
    g.state = &sv[0]
    g.pi = &piv[0]
    g.supply = &supv[0]
    g.parent = &iv[2, 0]
    g.pred = &iv[3, 0]
    g.forward = &fwdv[0]
    g.succ = &iv[4, 0]
    g.first_child = &iv[5, 0]
    g.next_sib = &iv[6, 0]
    g.prev_sib = &iv[7, 0]
    g.stack = &iv[8, 0]
    # supplies in internal node order: node u is graph node N - 1 - u
    for i in range(n1):
        if not a[i] > 0:
            raise ValueError("every supply must be positive")
        supv[N - 1 - i] = a[i]
    for j in range(n2):
        if not b[j] > 0:
            raise ValueError("every demand must be positive")
        supv[N - 1 - (n1 + j)] = -b[j]
    total = 0
    for u in range(N):
        total += supv[u]
    if fabs(total) > EPS_SUPPLY:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    with nogil:
        mx = 0
        for e in range(A):
            if e == 0 or g.C[e] > mx:
                mx = g.C[e]
        ART = (mx + 1) * <double>N
        for e in range(A):
            g.state[e] = LOWER
        g.parent[N] = -1
        g.pred[N] = -1
        g.succ[N] = N + 1
        g.pi[N] = 0
        g.first_child[N] = -1
        for u in range(N):
            g.parent[u] = N
            g.pred[u] = A + u
            g.succ[u] = 1
            g.first_child[u] = -1
            add_child(&g, N, u)
            g.state[A + u] = TREE
            if g.supply[u] >= 0:
                g.forward[u] = 1
                g.pi[u] = 0
                g.art_src[u] = u
                g.art_tgt[u] = N
                g.flow[A + u] = g.supply[u]
                g.art_cost[u] = 0
            else:
                g.forward[u] = 0
                g.pi[u] = ART
                g.art_src[u] = N
                g.art_tgt[u] = u
                g.flow[A + u] = -g.supply[u]
                g.art_cost[u] = ART
    # heuristic initial pivots: for each demand node (graph order, last
    # first = internal columns 0, 1, ...), its cheapest incoming arc, the
    # first minimum met from the last row up
    cdef idx_t[::1] init_arcs = np.empty(n2, dtype=np.longlong)
    cdef idx_t n_init = 0
    cdef idx_t next_arc = 0, B
    cdef long long it = 0
    cdef int status = 1
    with nogil:
        for t in range(n2):
            best = 1.79769313486231570815e+308
            best_e = -1
            for s in range(n2, N):
                e = (s - n2) * n2 + t
                c = g.C[e]
                if c < best:
                    best = c
                    best_e = e
            if best_e >= 0:
                init_arcs[n_init] = best_e
                n_init += 1
        for i in range(n_init):
            g.in_arc = init_arcs[i]
            if reduced(&g, g.in_arc) >= 0:
                continue
            if not pivot(&g):
                status = 2
                break
        if status == 1:
            B = <idx_t>(1.0 * sqrt(<double>A))
            if B < 10:
                B = 10
            while find_entering(&g, &next_arc, B):
                it += 1
                if max_iter > 0 and it >= max_iter:
                    status = 3
                    break
                if not pivot(&g):
                    status = 2
                    break
    if status == 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 2
    if status == 1:
        for u in range(N):
            if flow[A + u] != 0 and fabs(flow[A + u]) > EPS_SUPPLY:
                return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    # internal arc e is cell A - 1 - e of the row-major plan
    cells = (A - 1 - np.flatnonzero(flow[:A] > 0))[::-1]
    return cells // n2, cells % n2, status

