# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""All-pairs 1-Wasserstein distances between finite persistence diagrams
(L∞ ground metric), compiled and GIL-free.

The same arithmetic, step by step, as the pure-Python path
``topofd.tda.wasserstein._finite_matching(X, Y, order=1, internal_p=inf)``:

* the reduced assignment problem, X's points against Y's points plus one
  diagonal slot per X point, cost ``min(ground - dx - dy, 0)`` and 0 for the
  diagonal slots;
* solved by the shortest augmenting path algorithm of
  ``scipy.optimize.linear_sum_assignment`` (Crouse 2016, as implemented in
  SciPy's ``rectangular_lsap.cpp``, BSD licence, by P. M. Larsen), followed
  operation by operation, ties included, so the same assignment comes out;
* the distance summed from the kept costs in the same order with NumPy's
  pairwise summation, so the result is the same float.

Rows of the distance matrix are computed with the GIL released, so threads
run them in parallel; every entry is computed on its own (the result does not
depend on how rows are split).
"""

from libc.math cimport fabs, INFINITY
from libc.stdlib cimport malloc, free


cdef inline double _pw_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """``np.sum`` of a contiguous float64 array, same rounding (NumPy's
    pairwise summation: 8 accumulators per block of at most 128)."""
    cdef Py_ssize_t i, n2
    cdef double res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    elif n <= 128:
        r0 = a[0]; r1 = a[1]; r2 = a[2]; r3 = a[3]
        r4 = a[4]; r5 = a[5]; r6 = a[6]; r7 = a[7]
        i = 8
        while i < n - (n % 8):
            r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
            r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pw_sum(a, n2) + _pw_sum(a + n2, n - n2)


cdef struct Work:
    double* cost      # nr * nc
    double* ground    # nr * m
    double* u
    double* v
    double* spc
    double* tmp
    Py_ssize_t* path
    Py_ssize_t* col4row
    Py_ssize_t* row4col
    Py_ssize_t* remaining
    char* SR
    char* SC


cdef int _alloc(Work* w, Py_ssize_t maxn, Py_ssize_t maxm) noexcept nogil:
    cdef Py_ssize_t nc = maxm + maxn + 1
    cdef Py_ssize_t nr = maxn + 1
    w.cost = <double*> malloc(nr * nc * sizeof(double))
    w.ground = <double*> malloc(nr * (maxm + 1) * sizeof(double))
    w.u = <double*> malloc(nr * sizeof(double))
    w.v = <double*> malloc(nc * sizeof(double))
    w.spc = <double*> malloc(nc * sizeof(double))
    w.tmp = <double*> malloc(nc * sizeof(double))
    w.path = <Py_ssize_t*> malloc(nc * sizeof(Py_ssize_t))
    w.col4row = <Py_ssize_t*> malloc(nr * sizeof(Py_ssize_t))
    w.row4col = <Py_ssize_t*> malloc(nc * sizeof(Py_ssize_t))
    w.remaining = <Py_ssize_t*> malloc(nc * sizeof(Py_ssize_t))
    w.SR = <char*> malloc(nr)
    w.SC = <char*> malloc(nc)
    if (w.cost == NULL or w.ground == NULL or w.u == NULL or w.v == NULL or w.spc == NULL or w.tmp == NULL
            or w.path == NULL or w.col4row == NULL or w.row4col == NULL or w.remaining == NULL
            or w.SR == NULL or w.SC == NULL):
        return -1
    return 0


cdef void _free(Work* w) noexcept nogil:
    free(w.cost); free(w.ground); free(w.u); free(w.v); free(w.spc); free(w.tmp)
    free(w.path); free(w.col4row); free(w.row4col); free(w.remaining); free(w.SR); free(w.SC)


cdef int _lsap(Py_ssize_t nr, Py_ssize_t nc, Work* w) noexcept nogil:
    """SciPy's rectangular_lsap ``solve`` for ``nr <= nc`` (no transpose, no
    maximisation); the assignment is left in ``w.col4row``."""
    cdef double* cost = w.cost
    cdef double* u = w.u
    cdef double* v = w.v
    cdef double* spc = w.spc
    cdef Py_ssize_t* path = w.path
    cdef Py_ssize_t* col4row = w.col4row
    cdef Py_ssize_t* row4col = w.row4col
    cdef Py_ssize_t* remaining = w.remaining
    cdef char* SR = w.SR
    cdef char* SC = w.SC
    cdef Py_ssize_t i, j, it, cur, index, num_remaining, sink, tmpj
    cdef double minVal, lowest, r, ui, sj
    cdef double* crow
    for i in range(nr):
        u[i] = 0.0
        col4row[i] = -1
    for j in range(nc):
        v[j] = 0.0
        path[j] = -1
        row4col[j] = -1
    for cur in range(nr):
        # ---- augmenting_path
        minVal = 0.0
        num_remaining = nc
        for it in range(nc):
            remaining[it] = nc - it - 1
        for i in range(nr):
            SR[i] = 0
        for j in range(nc):
            SC[j] = 0
            spc[j] = INFINITY
        sink = -1
        i = cur
        while sink == -1:
            index = -1
            lowest = INFINITY
            SR[i] = 1
            crow = cost + i * nc
            ui = u[i]
            for it in range(num_remaining):
                j = remaining[it]
                r = minVal + crow[j] - ui - v[j]
                sj = spc[j]
                if r < sj:
                    path[j] = i
                    spc[j] = r
                    sj = r
                if sj < lowest or (sj == lowest and row4col[j] == -1):
                    lowest = sj
                    index = it
            minVal = lowest
            if minVal == INFINITY:
                return -1
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = row4col[j]
            SC[j] = 1
            num_remaining -= 1
            remaining[index] = remaining[num_remaining]
        # ---- update dual variables
        u[cur] += minVal
        for i in range(nr):
            if SR[i] and i != cur:
                u[i] += minVal - spc[col4row[i]]
        for j in range(nc):
            if SC[j]:
                v[j] -= minVal - spc[j]
        # ---- augment previous solution
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            tmpj = col4row[i]
            col4row[i] = j
            j = tmpj
            if i == cur:
                break
    return 0


cdef double _w1_pair(const double* X, const double* dx, Py_ssize_t n,
                     const double* Y, const double* dy, Py_ssize_t m, Work* w) noexcept nogil:
    """W1 (L∞) of two finite diagrams, as ``_finite_matching`` computes it;
    NaN if the solver fails (it cannot on finite input)."""
    cdef Py_ssize_t i, j, k, nc, cnt
    cdef double g, a, b, s, sa, sb, sc
    if n == 0 or m == 0:
        return _pw_sum(dx, n) + _pw_sum(dy, m)
    nc = m + n
    for i in range(n):
        for j in range(m):
            a = fabs(X[2 * i] - Y[2 * j])
            b = fabs(X[2 * i + 1] - Y[2 * j + 1])
            g = a if a >= b else b
            w.ground[i * m + j] = g
            s = g - dx[i] - dy[j]
            w.cost[i * nc + j] = s if s < 0.0 else 0.0
        for j in range(m, nc):
            w.cost[i * nc + j] = 0.0
    if _lsap(n, nc, w) != 0:
        return INFINITY - INFINITY
    # kept costs: ground of the matched pairs (row order), then the unmatched
    # X points' dx (row order), then the unused Y points' dy (column order)
    for j in range(m):
        w.SC[j] = 0
    cnt = 0
    for i in range(n):
        j = w.col4row[i]
        if j < m and w.cost[i * nc + j] < 0.0:
            w.tmp[cnt] = w.ground[i * m + j]
            cnt += 1
            w.SC[j] = 1
    sa = _pw_sum(w.tmp, cnt)
    cnt = 0
    for i in range(n):
        j = w.col4row[i]
        if not (j < m and w.cost[i * nc + j] < 0.0):
            w.tmp[cnt] = dx[i]
            cnt += 1
    sb = _pw_sum(w.tmp, cnt)
    cnt = 0
    for j in range(m):
        if not w.SC[j]:
            w.tmp[cnt] = dy[j]
            cnt += 1
    sc = _pw_sum(w.tmp, cnt)
    return sa + sb + sc


def w1_rows(const double[:, ::1] PA, const double[::1] DA, const Py_ssize_t[::1] offA,
            const double[:, ::1] PB, const double[::1] DB, const Py_ssize_t[::1] offB,
            const Py_ssize_t[::1] rows, bint upper, double[:, ::1] out):
    """Fill ``out[r, j] = W1(A[rows[r]], B[j])`` for every ``j`` (``upper``:
    only ``j > rows[r]``, the rest left untouched).

    Diagrams are given concatenated: ``PA[offA[i]:offA[i+1]]`` are diagram
    i's points, ``DA`` their distances to the diagonal (``(death - birth) *
    0.5``).  Runs without the GIL.
    """
    cdef Py_ssize_t nA = offA.shape[0] - 1, nB = offB.shape[0] - 1
    cdef Py_ssize_t maxn = 0, maxm = 0, i, j, r, start
    cdef Work w
    cdef int ok
    if out.shape[0] < rows.shape[0] or out.shape[1] < nB:
        raise ValueError("output block too small")
    for i in range(nA):
        if offA[i + 1] - offA[i] > maxn:
            maxn = offA[i + 1] - offA[i]
    for j in range(nB):
        if offB[j + 1] - offB[j] > maxm:
            maxm = offB[j + 1] - offB[j]
    with nogil:
        ok = _alloc(&w, maxn, maxm)
        if ok == 0:
            for r in range(rows.shape[0]):
                i = rows[r]
                start = i + 1 if upper else 0
                for j in range(start, nB):
                    out[r, j] = _w1_pair(&PA[offA[i], 0] if offA[i + 1] > offA[i] else NULL, &DA[offA[i]] if offA[i + 1] > offA[i] else NULL,
                                         offA[i + 1] - offA[i],
                                         &PB[offB[j], 0] if offB[j + 1] > offB[j] else NULL, &DB[offB[j]] if offB[j + 1] > offB[j] else NULL,
                                         offB[j + 1] - offB[j], &w)
        _free(&w)
    if ok != 0:
        raise MemoryError()


def assign_blocks(const Py_ssize_t[::1] starts, const Py_ssize_t[::1] nrow, const Py_ssize_t[::1] ncol,
                  const Py_ssize_t[::1] row, const Py_ssize_t[::1] col, const double[::1] s,
                  const Py_ssize_t[::1] xi, const Py_ssize_t[::1] yi, Py_ssize_t[::1] mx, Py_ssize_t[::1] my):
    """Maximum-saving matching of many small blocks (the barycenter's
    ``_assign_blocks``), each solved as ``linear_sum_assignment`` solves the
    matrix ``C`` (``nrow x (ncol + nrow)``, ``-s`` at ``(row, col)``, 0
    elsewhere: the extra columns are "stay with the diagonal"), with the
    same algorithm step by step (``_lsap``), so ties go the same way.

    Block ``b`` owns entries ``starts[b]:starts[b+1]`` (``starts`` has one
    more entry than there are blocks).  The matched ``(x, y)`` -- a row whose
    column is a real one with negative cost -- go to ``mx``/``my`` block by
    block, rows in order; returns their number.  Runs without the GIL.
    """
    cdef Py_ssize_t nb = starts.shape[0] - 1, maxr = 0, maxc = 0, b, e, r, c, nr, nc, k, cnt = 0
    cdef Work w
    cdef int ok = 0
    cdef Py_ssize_t* xr
    cdef Py_ssize_t* yc
    for b in range(nb):
        if nrow[b] > maxr:
            maxr = nrow[b]
        if ncol[b] > maxc:
            maxc = ncol[b]
    with nogil:
        # _alloc(maxn, maxm) holds (maxn + 1) x (maxm + maxn + 1) costs:
        # enough for nrow x (ncol + nrow)
        ok = _alloc(&w, maxr, maxc)
        xr = <Py_ssize_t*> malloc((maxr + 1) * sizeof(Py_ssize_t))
        yc = <Py_ssize_t*> malloc((maxc + 1) * sizeof(Py_ssize_t))
        if xr == NULL or yc == NULL:
            ok = -1
        if ok == 0:
            for b in range(nb):
                nr = nrow[b]
                nc = ncol[b] + nr
                for k in range(nr * nc):
                    w.cost[k] = 0.0
                for e in range(starts[b], starts[b + 1]):
                    w.cost[row[e] * nc + col[e]] = -s[e]
                    xr[row[e]] = xi[e]
                    yc[col[e]] = yi[e]
                if _lsap(nr, nc, &w) != 0:
                    ok = -2
                    break
                for r in range(nr):
                    c = w.col4row[r]
                    if c < ncol[b] and w.cost[r * nc + c] < 0.0:
                        mx[cnt] = xr[r]
                        my[cnt] = yc[c]
                        cnt += 1
        _free(&w)
        free(xr)
        free(yc)
    if ok == -1:
        raise MemoryError()
    if ok == -2:
        raise RuntimeError("an assignment block has no feasible matching")
    return cnt
