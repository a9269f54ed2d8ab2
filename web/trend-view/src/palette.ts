/**
 * Colours safe for the common colour-vision deficiencies: Okabe & Ito's palette for series
 * (https://jfly.uni-koeln.de/color/), ColorBrewer's YlOrRd (colour-blind safe, print friendly) for
 * the grade band. Series also differ by dash and marker, the band by its label, never colour alone.
 */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
} as const;

export const BAND_COLOURS = {
  'no-context': '#f2f2f2',
  'no-crs': '#d9f0d3',
  'grade-1': '#fed976',
  'grade-2': '#fd8d3c',
  'grade-3': '#e31a1c',
  'grade-4': '#800026',
  afebrile: '#9e9ac8',
  'data-gap': '#969696',
} as const;

export const BAND_LABELS = {
  'no-context': 'no CAR-T or bispecific window',
  'no-crs': 'no CRS',
  'grade-1': 'grade 1',
  'grade-2': 'grade 2',
  'grade-3': 'grade 3',
  'grade-4': 'grade 4',
  afebrile: 'hypotension or hypoxia without fever (ASTCT not met)',
  'data-gap': 'cannot be judged (missing data)',
} as const;
