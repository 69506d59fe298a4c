"""Doorstep's route planner beside PyVRP, VROOM and OR-Tools on the Solomon set.

Every solver gets the same instances and time budget on one thread; every
solution is checked here, independently of the solver (each customer once,
time windows, capacity, shift), and its distance recomputed in double
precision (the convention of bks.csv). Run through bench/solomon.sh.

Integer solvers (PyVRP, VROOM, OR-Tools) get times and distances scaled by
1000; travel times are rounded up so that a schedule they find feasible is
feasible in real numbers too.
"""

import argparse, csv, json, math, os, statistics, subprocess, sys, time
from collections import defaultdict

SCALE = 1000


def read_solomon(path):
    with open(path) as f:
        lines = [l.strip() for l in f]
    name = next(l for l in lines if l)
    i = next(k for k, l in enumerate(lines) if l.upper().startswith("NUMBER"))
    fleet, cap = [int(x) for x in next(l for l in lines[i + 1:] if l).split()]
    rows = []
    for l in lines:
        f = l.split()
        if len(f) == 7 and all(p.replace(".", "", 1).isdigit() for p in f):
            rows.append([float(x) for x in f])
    ids = [str(int(r[0])) for r in rows]
    xy = [(r[1], r[2]) for r in rows]
    n = len(rows)
    d = [[math.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]) for b in range(n)] for a in range(n)]
    return dict(name=name, ids=ids, xy=xy, demand=[int(r[3]) for r in rows], ready=[r[4] for r in rows],
                due=[r[5] for r in rows], service=[r[6] for r in rows], cap=cap, fleet=fleet, d=d, n=n)


def check(inst, routes):
    """Distance and vehicles of a valid solution; raises on any violation."""
    seen = set()
    dist = 0.0
    used = 0
    for r in routes:
        if not r:
            continue
        used += 1
        t, prev, load = inst["ready"][0], 0, 0
        for c in r:
            if c <= 0 or c >= inst["n"] or c in seen:
                raise ValueError(f"customer {c} invalid or repeated")
            seen.add(c)
            load += inst["demand"][c]
            dist += inst["d"][prev][c]
            start = max(t + inst["service"][prev] + inst["d"][prev][c], inst["ready"][c])
            if start > inst["due"][c] + 1e-6:
                raise ValueError(f"customer {inst['ids'][c]} served at {start:.2f} after {inst['due'][c]}")
            t, prev = start, c
        dist += inst["d"][prev][0]
        if t + inst["service"][prev] + inst["d"][prev][0] > inst["due"][0] + 1e-6:
            raise ValueError("route returns after the shift")
        if load > inst["cap"]:
            raise ValueError("capacity exceeded")
    if len(seen) != inst["n"] - 1:
        raise ValueError(f"{inst['n'] - 1 - len(seen)} customers not visited")
    if used > inst["fleet"]:
        raise ValueError("fleet exceeded")
    return dist, used


def scaled(inst):
    n = inst["n"]
    dur = [[math.ceil(inst["d"][a][b] * SCALE - 1e-9) for b in range(n)] for a in range(n)]
    dis = [[round(inst["d"][a][b] * SCALE) for b in range(n)] for a in range(n)]
    tw = [(round(inst["ready"][i] * SCALE), round(inst["due"][i] * SCALE)) for i in range(n)]
    sv = [round(inst["service"][i] * SCALE) for i in range(n)]
    return dur, dis, tw, sv


def run_doorstep(inst, path, secs, binary):
    out = subprocess.run([binary, "route", "solve", path, "--time-limit", str(secs), "--seed", "1", "--json"],
                         capture_output=True, text=True, check=True)
    sol = json.loads(out.stdout)
    index = {cid: i for i, cid in enumerate(inst["ids"])}
    return [[index[c] for c in r] for r in sol["routes"]]


def run_pyvrp(inst, secs):
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime
    dur, dis, tw, sv = scaled(inst)
    m = Model()
    locs = [m.add_location(x=x, y=y) for x, y in inst["xy"]]
    depot = m.add_depot(locs[0], tw_early=tw[0][0], tw_late=tw[0][1])
    m.add_vehicle_type(num_available=inst["fleet"], capacity=inst["cap"], start_depot=depot, end_depot=depot,
                       tw_early=tw[0][0], tw_late=tw[0][1])
    for i in range(1, inst["n"]):
        m.add_client(locs[i], delivery=inst["demand"][i], service_duration=sv[i], tw_early=tw[i][0], tw_late=tw[i][1])
    for a in range(inst["n"]):
        for b in range(inst["n"]):
            m.add_edge(locs[a], locs[b], distance=dis[a][b], duration=dur[a][b])
    res = m.solve(stop=MaxRuntime(secs), seed=1, display=False)
    # Depots are location 0; clients follow in the order added (1..n-1).
    # Client activities count clients from 0; our node indices count the depot as 0.
    return [[a.idx + 1 for a in r if a.is_client()] for r in res.best.routes()]


def run_vroom(inst, secs):
    import numpy as np
    import vroom
    dur, dis, tw, sv = scaled(inst)
    p = vroom.Input()
    p.set_durations_matrix(profile="car", matrix_input=np.array(dur, dtype=np.uint32))
    p.set_costs_matrix(profile="car", matrix_input=np.array(dis, dtype=np.uint32))
    p.add_vehicle([vroom.Vehicle(v + 1, start=0, end=0, capacity=[inst["cap"]], time_window=vroom.TimeWindow(*tw[0]))
                   for v in range(inst["fleet"])])
    p.add_job([vroom.Job(i, location=i, default_service=sv[i], delivery=[inst["demand"][i]],
                         time_windows=[vroom.TimeWindow(*tw[i])]) for i in range(1, inst["n"])])
    sol = p.solve(exploration_level=5, nb_threads=1)
    routes = defaultdict(list)
    for _, row in sol.routes.iterrows():
        if row["type"] == "job":
            routes[row["vehicle_id"]].append(int(row["id"]))
    return list(routes.values())


def run_ortools(inst, secs):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    dur, dis, tw, sv = scaled(inst)
    n, fleet = inst["n"], inst["fleet"]
    mgr = pywrapcp.RoutingIndexManager(n, fleet, 0)
    rt = pywrapcp.RoutingModel(mgr)
    cost = rt.RegisterTransitCallback(lambda a, b: dis[mgr.IndexToNode(a)][mgr.IndexToNode(b)])
    rt.SetArcCostEvaluatorOfAllVehicles(cost)
    time_cb = rt.RegisterTransitCallback(lambda a, b: sv[mgr.IndexToNode(a)] + dur[mgr.IndexToNode(a)][mgr.IndexToNode(b)])
    rt.AddDimension(time_cb, tw[0][1], tw[0][1], False, "Time")
    tdim = rt.GetDimensionOrDie("Time")
    for i in range(1, n):
        tdim.CumulVar(mgr.NodeToIndex(i)).SetRange(*tw[i])
    for v in range(fleet):
        tdim.CumulVar(rt.Start(v)).SetRange(*tw[0])
        tdim.CumulVar(rt.End(v)).SetRange(*tw[0])
    dem = rt.RegisterUnaryTransitCallback(lambda a: inst["demand"][mgr.IndexToNode(a)])
    rt.AddDimensionWithVehicleCapacity(dem, 0, [inst["cap"]] * fleet, True, "Load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(secs * 1000))
    sol = rt.SolveWithParameters(params)
    if sol is None:
        raise ValueError("no solution")
    routes = []
    for v in range(fleet):
        idx, r = rt.Start(v), []
        idx = sol.Value(rt.NextVar(idx))
        while not rt.IsEnd(idx):
            r.append(mgr.IndexToNode(idx))
            idx = sol.Value(rt.NextVar(idx))
        routes.append(r)
    return routes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "solomon"))
    ap.add_argument("--time-limit", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--solvers", default="doorstep,pyvrp,vroom,ortools")
    ap.add_argument("--binary", default="target/release/doorstep")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    bks = {r["instance"]: r for r in csv.DictReader(open(os.path.join(a.data, "bks.csv")))}
    names = [n for n in bks if n.startswith(a.only)]
    runners = {"doorstep": None, "pyvrp": run_pyvrp, "vroom": run_vroom, "ortools": run_ortools}
    rows = []
    for secs in a.time_limit:
        for solver in a.solvers.split(","):
            if solver == "vroom" and secs != a.time_limit[0]:
                continue  # VROOM has no time budget: it runs once, at exploration level 5
            fam = defaultdict(list)
            infeasible = 0
            for name in names:
                path = os.path.join(a.data, "instances", f"{name}.txt")
                inst = read_solomon(path)
                t = time.perf_counter()
                try:
                    routes = run_doorstep(inst, path, secs, a.binary) if solver == "doorstep" else runners[solver](inst, secs)
                    elapsed = time.perf_counter() - t
                    dist, veh = check(inst, routes)
                except Exception as e:  # an infeasible or failed run counts against the solver
                    print(f"  {solver} {name}: {e}", file=sys.stderr)
                    infeasible += 1
                    continue
                best = float(bks[name]["bks_distmin_distance"])
                fam[bks[name]["family"]].append(((dist - best) / best * 100, veh, elapsed))
                print(f"  {solver:9} {secs:>5}s {name:6} {dist:9.2f} gap {(dist - best) / best * 100:6.2f}% veh {veh:3} {elapsed:6.2f}s", file=sys.stderr, flush=True)
            allv = [x for v in fam.values() for x in v]
            budget = "expl. 5" if solver == "vroom" else f"{secs:g} s"
            rows.append((solver, budget, {f: statistics.mean(x[0] for x in v) for f, v in fam.items()},
                         statistics.mean(x[0] for x in allv) if allv else float("nan"),
                         statistics.mean(x[1] for x in allv) if allv else float("nan"),
                         statistics.mean(x[2] for x in allv) if allv else float("nan"), infeasible, len(allv)))
    fams = ["C1", "C2", "R1", "R2", "RC1", "RC2"]
    print("| solver | budget | " + " | ".join(f"{f} gap %" for f in fams) + " | all gap % | vehicles | s/instance | infeasible | solved |")
    print("|" + "---|" * (len(fams) + 7))
    for s, b, fg, g, v, t, inf, k in rows:
        print(f"| {s} | {b} | " + " | ".join(f"{fg.get(f, float('nan')):.2f}" for f in fams) + f" | **{g:.2f}** | {v:.2f} | {t:.2f} | {inf} | {k} |")


if __name__ == "__main__":
    main()
