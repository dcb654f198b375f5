// The multi-objective core: Pareto ranks, exact (batched) hypervolume, front metrics, preference
// grids and ParetoHqD's Pareto high-quality data selection.
export { type Matrix, type Minimise, type PointMatrix, type Points, toMatrix } from './points.js';
export { paretoFront, paretoRanks, type ParetoRankOptions } from './pareto.js';
export {
  type FrontSets,
  hypervolume,
  hypervolumeBatch,
  type HypervolumeBatchOptions,
  type HypervolumeBatchResult,
  hypervolumeContributions,
  type HypervolumeOptions,
  type HypervolumeResult,
  MANY_OBJECTIVES,
  type OnOutside,
} from './hypervolume.js';
export {
  DEFAULT_HV_MARGIN,
  frontMetrics,
  type FrontMetricsOptions,
  type FrontMetricsRecord,
  normalisationBounds,
  type NormalisationBounds,
  type SpacingVariant,
  type SparsityVariant,
} from './front-metrics.js';
export {
  checkPreference,
  checkPreferences,
  dasDennis,
  dasDennisCount,
  defaultPreferences,
  formatPreference,
  PARETOHQD_GRID,
  parsePreferences,
  PREFERENCE_SUM_TOLERANCE,
  RIC13_GRID,
  twoObjectiveGrid,
} from './preferences.js';
export {
  type FixedBounds,
  loadSelectionRecord,
  parseSelectionRecord,
  type PreferenceSelection,
  preferenceSelection,
  type RayDistance,
  type RewardPool,
  selectionRecord,
  type SelectionBounds,
  type SelectionRecord,
  type SelectionWithRanks,
  selectParetoHq,
  type SelectParetoHqOptions,
  selectParetoHqWithRanks,
} from './select.js';
