// The HV4D+ sweep structure (Guerreiro & Fonseca, "Computing and updating hypervolume
// contributions in up to four dimensions", IEEE TEVC 22(3), 2018), shared by the 4-D kernel
// (hv4d.cpp) and the 4-D one-contribution problems of the 5-D sweep (hv5d.cpp).
//
// Points enter by the 4th coordinate; the structure holds V = the 3-D volume dominated by the
// (x, y, z) projections entered so far. Each new point adds its exclusive 3-D contribution, found
// by one sweep along z over the held points. What makes it O(n) per point instead of O(n log n):
// every held point remembers its two "closest" neighbours in the (x, y) staircase of the points
// below it in z, so the staircase at any z can be rebuilt by relinking the points in z order
// (dancing links), O(1) each.
//
// The paper is stated for minimisation. The kernels' rows are shifted maximisation (reference 0,
// coordinates > 0), so nodes hold them negated: reference 0, coordinates < 0, smaller is better.
// "x y z w" are the 1st..4th negated coordinates, and "below" in z means smaller z (better).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace moalign::moo::hv4dplus {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

struct Node {
  double x, y, z, w;
  Node* next;        // z-list: held points, 3-D non-dominated, ascending (z, y, x)
  Node* prev;
  Node* cnext[2];    // current staircase links: [0] = right neighbour (larger x), [1] = left (larger y)
  Node* closest[2];  // the staircase neighbours among the z-list points before this one
};

// The sweeps' comparisons decide on coordinates in random order, where every && or || of two
// comparisons is a branch that mispredicts about half the time (callgrind: ~3,800 mispredictions
// per 100-point front). So the conditions combine comparison results with bitwise & and |, and
// the lexicographic orders branch only on a tie of their first coordinate, which is rare and so
// predicted.

// (z, y, x) lexicographic order of the z-list; for anything with z, y, x members (nodes, and
// the 4-D kernel's sort keys).
template <typename A, typename B>
inline bool lex_zyx_less(const A& a, const B& b) {
  if (a.z != b.z) [[likely]] return a.z < b.z;
  return (a.y < b.y) | ((a.y == b.y) & (a.x < b.x));
}
// (x, y, z) and (y, x, z) orders, for choosing closest neighbours; z breaks ties so that a point
// that replaces a dominated neighbour with the same (x, y) wins.
inline bool lex_xyz_less(const Node& a, const Node& b) {
  if (a.x != b.x) [[likely]] return a.x < b.x;
  return (a.y < b.y) | ((a.y == b.y) & (a.z < b.z));
}
inline bool lex_yxz_less(const Node& a, const Node& b) {
  if (a.y != b.y) [[likely]] return a.y < b.y;
  return (a.x < b.x) | ((a.x == b.x) & (a.z < b.z));
}
// a weakly dominates b in (x, y) (nodes are negated: smaller is better).
inline bool covers_xy(const Node& a, const Node& b) { return (a.x <= b.x) & (a.y <= b.y); }

// `cond ? a : b` for node pointers, by indexing: compilers emit a branch for the plain select.
inline Node* choose(bool cond, Node* a, Node* b) {
  Node* const pick[2] = {b, a};
  return pick[cond];
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

class Sweep {
 public:
  // nodes[0..2] are sentinels: s_left = (-inf, 0, -inf), s_right = (0, -inf, -inf) start the
  // z-list and bound every staircase; s_end = (-inf, -inf, 0) ends it and covers every box.
  // Callers fill nodes[3..] with their points; first() is nodes[3].
  std::vector<Node> nodes;

  // Room for n points, and the sentinels linked as the empty z-list and staircase. Invalidates
  // node pointers only when n exceeds every earlier n.
  void reset(std::size_t n) {
    nodes.resize(n + 3);
    s_left = &nodes[0];
    s_right = &nodes[1];
    s_end = &nodes[2];
    *s_left = Node{-kInf, 0, -kInf, -kInf, s_right, s_end, {s_right, s_left}, {s_right, s_left}};
    *s_right = Node{0, -kInf, -kInf, -kInf, s_end, s_left, {s_right, s_left}, {s_right, s_left}};
    *s_end = Node{-kInf, -kInf, 0, 0, s_left, s_right, {s_right, s_left}, {s_right, s_left}};
  }
  Node* first() { return &nodes[3]; }

  // ---- The base: the points of the first w level, whose 3-D volume comes from one sweep up z over
  // a 2-D staircase (x ascending, y descending) instead of one restart walk each. Feed it with
  // begin_base(); optionally the lowest z level in any order (add_lowest) and link_lowest(); the
  // other points in ascending (z, y, x) order (add_next); then end_base().
  void begin_base() {
    stairs_.clear();
    tail_ = s_right;
    area_ = volume_ = last_z_ = 0;
  }

  // A point of the lowest z level (all share one z), in any order: only the staircase and its
  // area change here, since a later point of the level may still dominate it.
  void add_lowest(Node* p) {
    sweep_up_to(p->z);
    step_in(p);
  }

  // Links the lowest level's survivors (the staircase) into the z-list in (y, x) order, each with
  // the closest neighbours it would have got had the level come in that order: the step to its
  // right, and s_left (no earlier point of the level lies up-left of it).
  void link_lowest() {
    for (std::size_t k = stairs_.size(); k-- > 0;) {
      Node* p = stairs_[k];
      p->closest[0] = k + 1 < stairs_.size() ? stairs_[k + 1] : s_right;
      p->closest[1] = s_left;
      append(p);
    }
  }

  // The next point in ascending (z, y, x) order (above the lowest level, if add_lowest had it).
  // Its closest neighbours are its staircase neighbours at insertion.
  void add_next(Node* p) {
    sweep_up_to(p->z);
    if (step_in(p)) append(p);
  }

  // Ends the z-list; returns the base's 3-D volume.
  double end_base() {
    sweep_up_to(0.0);
    tail_->next = s_end;
    s_end->prev = tail_;
    return volume_;
  }

  // ---- Later w levels: p's exclusive 3-D volume against the held points, which p then joins.
  // 0 (and p stays out) when a held point weakly dominates p in 3-D.
  double add(Node* p) {
    if (!restart(p)) return 0;
    const double v = contribution(p);
    insert(p);
    return v;
  }

 private:
  Node* s_left = nullptr;
  Node* s_right = nullptr;
  Node* s_end = nullptr;

  // Base construction state.
  std::vector<Node*> stairs_;  // the (x, y) staircase at the current z: x ascending, y descending
  Node* tail_ = nullptr;       // last z-list node so far
  double area_ = 0;            // the staircase's area
  double volume_ = 0;          // the volume below last_z_
  double last_z_ = 0;

  void sweep_up_to(double z) {
    volume_ += area_ * (z - last_z_);
    last_z_ = z;
  }

  void append(Node* p) {
    p->prev = tail_;
    tail_->next = p;
    tail_ = p;
  }

  // Puts p's (x, y) on the staircase, adding the area it newly covers and setting p's closest
  // neighbours to its staircase neighbours. False (nothing changed) when a step weakly dominates p.
  bool step_in(Node* p) {
    // i: the first step right of p.x; stairs_[i-1], if any, is the lowest step at or left of p.x.
    const auto right_of = std::upper_bound(stairs_.begin(), stairs_.end(), p->x, [](double x, const Node* s) { return x < s->x; });
    const std::size_t i = static_cast<std::size_t>(right_of - stairs_.begin());
    if (i > 0 && stairs_[i - 1]->y <= p->y) return false;
    const std::size_t lo = i > 0 && stairs_[i - 1]->x == p->x ? i - 1 : i;  // first step p replaces
    std::size_t j = i;                                                     // first step p keeps
    double cur_x = p->x, cur_y = i > 0 ? stairs_[i - 1]->y : 0.0;
    for (; j < stairs_.size() && stairs_[j]->y >= p->y; ++j) {
      area_ += (stairs_[j]->x - cur_x) * (cur_y - p->y);
      cur_x = stairs_[j]->x;
      cur_y = stairs_[j]->y;
    }
    area_ += ((j < stairs_.size() ? stairs_[j]->x : 0.0) - cur_x) * (cur_y - p->y);
    p->closest[0] = j < stairs_.size() ? stairs_[j] : s_right;
    p->closest[1] = lo > 0 ? stairs_[lo - 1] : s_left;
    stairs_.erase(stairs_.begin() + static_cast<std::ptrdiff_t>(lo), stairs_.begin() + static_cast<std::ptrdiff_t>(j));
    stairs_.insert(stairs_.begin() + static_cast<std::ptrdiff_t>(lo), p);
    return true;
  }

  // Rebuilds the staircase at p's z by relinking the z-list points before p, and finds p's closest
  // neighbours and its place in the z-list. False when a held point weakly dominates p in 3-D.
  bool restart(Node* p) {
    s_left->cnext[0] = s_right;
    s_right->cnext[1] = s_left;
    Node* right = s_right;  // among points below with y < p.y: least (x, y)
    Node* left = s_left;    // among points below with x < p.x: least (y, x)
    for (Node* s = s_right->next;; s = s->next) {
      if (covers_xy(*s, *p) & (s->z <= p->z)) return false;
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
      const bool new_right = (s->y < p->y) & lex_xyz_less(*s, *right);
      const bool new_left = !new_right & (s->x < p->x) & lex_yxz_less(*s, *left);
      right = choose(new_right, s, right);
      left = choose(new_left, s, left);
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
      if (covers_xy(*s, *p)) return volume;  // s covers the rest of p's box
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

  // Links p into the z-list, drops the points above it that it dominates in 3-D and makes p the
  // closest neighbour of those whose staircase it now bounds.
  void insert(Node* p) {
    p->prev->next = p;
    p->next->prev = p;
    for (Node* s = p->next; s != s_end; s = s->next) {
      if (covers_xy(*s, *p) & ((s->x < p->x) | (s->y < p->y))) return;  // s shadows p above
      const bool right_of_p = p->x <= s->x;
      if (right_of_p & (p->y <= s->y)) {  // p dominates s in 3-D
        s->prev->next = s->next;
        s->next->prev = s->prev;
        continue;
      }
      // p may become s's closest neighbour on one side: selected, not branched on.
      const bool left = right_of_p & (p->x < s->x) && lex_yxz_less(*p, *s->closest[1]);
      const bool below = !right_of_p & (p->y < s->y) && lex_xyz_less(*p, *s->closest[0]);
      s->closest[1] = choose(left, p, s->closest[1]);
      s->closest[0] = choose(below, p, s->closest[0]);
    }
  }
};

}  // namespace moalign::moo::hv4dplus
