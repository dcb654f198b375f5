// m = 4: HV4D+ (Guerreiro & Fonseca, "Computing and updating hypervolume contributions in up to
// four dimensions", IEEE TEVC 22(3), 2018). Sweep the points by the 4th coordinate, keeping
// V = the 3-D volume dominated by the (x, y, z) projections seen so far: HV = sum_j V_j * height_j.
// Each new point adds its exclusive 3-D contribution, found by one sweep along z over the seen
// points. What makes it O(n) per point instead of O(n log n): every seen point remembers its two
// "closest" neighbours in the (x, y) staircase of the points below it in z, so the staircase at
// any z can be rebuilt by relinking the points in z order (dancing links), O(1) each.
//
// The paper is stated for minimisation. The kernels' rows are shifted maximisation (reference 0,
// coordinates > 0), so we negate: reference 0, coordinates < 0, smaller is better. Below, "x y z w"
// are the 1st..4th negated coordinates, and "below" in z means smaller z (better).
#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "hv_kernels.h"

namespace moalign::moo {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Node {
  double x, y, z, w;
  Node* next;        // z-list: seen points, 3-D non-dominated, ascending (z, y, x)
  Node* prev;
  Node* cnext[2];    // current staircase links: [0] = right neighbour (larger x), [1] = left (larger y)
  Node* closest[2];  // the staircase neighbours among the z-list points before this one
};

// (z, y, x) lexicographic order of the z-list; for anything with z, y, x members (nodes, and
// build_base's sort keys).
template <typename A, typename B>
inline bool lex_zyx_less(const A& a, const B& b) {
  return a.z < b.z || (a.z == b.z && (a.y < b.y || (a.y == b.y && a.x < b.x)));
}
// (x, y, z) and (y, x, z) orders, for choosing closest neighbours; z breaks ties so that a point
// that replaces a dominated neighbour with the same (x, y) wins.
inline bool lex_xyz_less(const Node& a, const Node& b) {
  return a.x < b.x || (a.x == b.x && (a.y < b.y || (a.y == b.y && a.z < b.z)));
}
inline bool lex_yxz_less(const Node& a, const Node& b) {
  return a.y < b.y || (a.y == b.y && (a.x < b.x || (a.x == b.x && a.z < b.z)));
}

// The staircase area covered inside the box [px, 0] x [py, 0] ("p's exclusive area"), walking the
// staircase from q, p's delimiter on side i, in the direction cnext[i]. i = 1: q is p's right
// delimiter (q.y < py) and the walk goes up-left; i = 0: q is p's left delimiter, the walk goes
// down-right. Stops at the first step outside the box.
inline double exclusive_area(double px, double py, const Node* q, int i) {
  const double p[2] = {px, py};
  const int j = 1 - i;
  auto coord = [](const Node* n, int k) { return k == 0 ? n->x : n->y; };
  const Node* u = q->cnext[i];
  double area = (coord(q, j) - p[j]) * (coord(u, i) - p[i]);
  while (p[j] < coord(u, j)) {
    q = u;
    u = u->cnext[i];
    area += (coord(q, j) - p[j]) * (coord(u, i) - coord(q, i));
  }
  return area;
}

struct Hv4dPlus {
  // nodes[0..2] are sentinels: s_left = (-inf, 0, -inf), s_right = (0, -inf, -inf) start the
  // z-list and bound every staircase; s_end = (-inf, -inf, 0) ends it and covers every box.
  std::vector<Node> nodes;
  Node* s_left = nullptr;
  Node* s_right = nullptr;
  Node* s_end = nullptr;

  // Room for n points, and the sentinels linked as the empty z-list and staircase.
  void reset(std::size_t n) {
    nodes.resize(n + 3);
    s_left = &nodes[0];
    s_right = &nodes[1];
    s_end = &nodes[2];
    *s_left = Node{-kInf, 0, -kInf, -kInf, s_right, s_end, {s_right, s_left}, {s_right, s_left}};
    *s_right = Node{0, -kInf, -kInf, -kInf, s_end, s_left, {s_right, s_left}, {s_right, s_left}};
    *s_end = Node{-kInf, -kInf, 0, 0, s_left, s_right, {s_right, s_left}, {s_right, s_left}};
  }

  // Rebuilds the staircase at p's z by relinking the z-list points before p, and finds p's closest
  // neighbours and its place in the z-list. False when a seen point weakly dominates p in 3-D.
  bool restart(Node* p) {
    s_left->cnext[0] = s_right;
    s_right->cnext[1] = s_left;
    Node* right = s_right;  // among points below with y < p.y: least (x, y)
    Node* left = s_left;    // among points below with x < p.x: least (y, x)
    for (Node* s = s_right->next;; s = s->next) {
      if (s->x <= p->x && s->y <= p->y && s->z <= p->z) return false;
      if (!lex_zyx_less(*s, *p)) {
        p->closest[0] = right;
        p->closest[1] = left;
        p->prev = s->prev;
        p->next = s;
        return true;
      }
      s->cnext[0] = s->closest[0];
      s->cnext[1] = s->closest[1];
      s->cnext[0]->cnext[1] = s;
      s->cnext[1]->cnext[0] = s;
      if (s->y < p->y && lex_xyz_less(*s, *right)) {
        right = s;
      } else if (s->x < p->x && lex_yxz_less(*s, *left)) {
        left = s;
      }
    }
  }

  // p's exclusive 3-D volume against the z-list (p not yet in it), sweeping up from p's z: each
  // point above that cuts into p's remaining exclusive area subtracts what it covers.
  double contribution(Node* p) {
    p->cnext[0] = p->closest[0];
    p->cnext[1] = p->closest[1];
    double area = exclusive_area(p->x, p->y, p->cnext[0], 1);
    double volume = 0, last_z = p->z;
    for (Node* s = p->next;; s = s->next) {
      volume += area * (s->z - last_z);
      if (s->x <= p->x && s->y <= p->y) return volume;  // s covers the rest of p's box
      s->cnext[0] = s->closest[0];
      s->cnext[1] = s->closest[1];
      if (s->x < p->x) {  // s lies up-left of p: it covers p's box above s.y
        if (s->y <= p->cnext[1]->y) {
          area -= exclusive_area(p->x, s->y, p->cnext[1], 0);
          s->cnext[1] = p->cnext[1];
          s->cnext[0]->cnext[1] = s;
          p->cnext[1] = s;
        }
      } else if (s->y < p->y) {  // down-right of p: it covers p's box right of s.x
        if (s->x <= p->cnext[0]->x) {
          area -= exclusive_area(s->x, p->y, p->cnext[0], 1);
          s->cnext[0] = p->cnext[0];
          s->cnext[1]->cnext[0] = s;
          p->cnext[0] = s;
        }
      } else {  // inside p's box
        area -= exclusive_area(s->x, s->y, s->cnext[0], 1);
        s->cnext[1]->cnext[0] = s;
        s->cnext[0]->cnext[1] = s;
      }
      last_z = s->z;
    }
  }

  // The first rows all share one w: their 3-D volume and z-list come from a single sweep up z
  // over a 2-D staircase (x ascending, y descending) instead of one restart walk each. Each
  // point's closest neighbours are its staircase neighbours at insertion. Returns the volume.
  double build_base(std::size_t count) {
    struct Key {
      double z, y, x;
      Node* node;
    };
    thread_local std::vector<Key> order;
    thread_local std::vector<Node*> stairs;
    order.resize(count);
    for (std::size_t i = 0; i < count; ++i) order[i] = {nodes[i + 3].z, nodes[i + 3].y, nodes[i + 3].x, &nodes[i + 3]};
    std::sort(order.begin(), order.end(), [](const Key& a, const Key& b) { return lex_zyx_less(a, b); });
    stairs.clear();
    Node* tail = s_right;  // last z-list node so far
    double area = 0, volume = 0;
    for (std::size_t k = 0; k < count; ++k) {
      Node* p = order[k].node;
      // i: the first step right of p.x; stairs[i-1], if any, is the lowest step at or left of p.x.
      const auto right_of = std::upper_bound(stairs.begin(), stairs.end(), p->x, [](double x, const Node* s) { return x < s->x; });
      const std::size_t i = static_cast<std::size_t>(right_of - stairs.begin());
      if (i == 0 || stairs[i - 1]->y > p->y) {  // else a step weakly dominates p in 3-D
        const std::size_t lo = i > 0 && stairs[i - 1]->x == p->x ? i - 1 : i;  // first step p replaces
        std::size_t j = i;                                                     // first step p keeps
        double cur_x = p->x, cur_y = i > 0 ? stairs[i - 1]->y : 0.0;
        for (; j < stairs.size() && stairs[j]->y >= p->y; ++j) {
          area += (stairs[j]->x - cur_x) * (cur_y - p->y);
          cur_x = stairs[j]->x;
          cur_y = stairs[j]->y;
        }
        area += ((j < stairs.size() ? stairs[j]->x : 0.0) - cur_x) * (cur_y - p->y);
        p->closest[0] = j < stairs.size() ? stairs[j] : s_right;
        p->closest[1] = lo > 0 ? stairs[lo - 1] : s_left;
        stairs.erase(stairs.begin() + static_cast<std::ptrdiff_t>(lo), stairs.begin() + static_cast<std::ptrdiff_t>(j));
        stairs.insert(stairs.begin() + static_cast<std::ptrdiff_t>(lo), p);
        p->prev = tail;
        tail->next = p;
        tail = p;
      }
      const double z_next = k + 1 < count ? order[k + 1].z : 0.0;
      volume += area * (z_next - p->z);
    }
    tail->next = s_end;
    s_end->prev = tail;
    return volume;
  }

  // Links p into the z-list, drops the points above it that it dominates in 3-D and makes p the
  // closest neighbour of those whose staircase it now bounds.
  void insert(Node* p) {
    p->prev->next = p;
    p->next->prev = p;
    for (Node* s = p->next; s != s_end; s = s->next) {
      if (s->x <= p->x && s->y <= p->y && (s->x < p->x || s->y < p->y)) return;  // s shadows p above
      if (p->x <= s->x) {
        if (p->y <= s->y) {
          s->prev->next = s->next;
          s->next->prev = s->prev;
        } else if (p->x < s->x && lex_yxz_less(*p, *s->closest[1])) {
          s->closest[1] = p;
        }
      } else if (p->y < s->y && lex_xyz_less(*p, *s->closest[0])) {
        s->closest[0] = p;
      }
    }
  }
};

}  // namespace

double hv4d_sorted(const double* q, std::size_t n) {
  if (n == 0) return 0;
  thread_local Hv4dPlus sweep;
  sweep.reset(n);
  for (std::size_t t = 0; t < n; ++t) {
    const double* r = q + 4 * t;
    Node& p = sweep.nodes[t + 3];
    p.x = -r[0];
    p.y = -r[1];
    p.z = -r[2];
    p.w = -r[3];
  }
  auto w_after = [&](std::size_t t) { return t + 1 < n ? -q[4 * t + 7] : 0.0; };
  std::size_t base = 1;
  while (base < n && q[4 * base + 3] == q[3]) ++base;
  double volume = sweep.build_base(base);
  double hv = volume * (w_after(base - 1) + q[3]);
  for (std::size_t t = base; t < n; ++t) {
    Node* p = &sweep.nodes[t + 3];
    if (sweep.restart(p)) {
      volume += sweep.contribution(p);
      sweep.insert(p);
    }
    hv += volume * (w_after(t) - p->w);
  }
  return hv;
}

double hv4d(double* q, std::size_t n) {
  thread_local std::vector<std::array<double, 4>> rows;
  rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = {q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3]};
  // Ties in q4 may come in any order: a point processed before one that dominates it is dropped
  // from the z-list when the dominating one arrives, and the volume is the same.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a[3] > b[3]; });
  return hv4d_sorted(rows.data()->data(), n);
}

}  // namespace moalign::moo
