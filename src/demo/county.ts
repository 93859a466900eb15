/**
 * The demo county's geography: one fictional county (青山县, Qingshan County) whose townships,
 * villages and institutions are shared by the population generator, the care generator and the
 * registry. Institution ids here must match `registry/institutions.json`.
 *
 * The county is fictional, but residents' national IDs carry real division codes (GB/T 2260, as
 * published 2016): most residents were born in the county itself — which we give the real code
 * of Songyang county, Lishui, Zhejiang (331124) — and the rest in neighbouring counties of the
 * same prefecture or elsewhere in the province (married-in spouses, migrants).
 */

export interface Village {
  id: string;
  name: string;
  /** The village clinic's institution id, when the village has one. */
  clinic?: string;
}

export interface Township {
  id: string;
  name: string;
  kind: 'town' | 'township' | 'subdistrict';
  /** The township health centre or community health centre serving it. */
  healthCentre: string;
  villages: Village[];
  /** Relative population weight (the county seat is the largest). */
  weight: number;
}

export const DEMO_COUNTY = {
  name: { zh: '青山县', en: 'Qingshan County' },
  /** Division code used for residents born in the county (see the comment above). */
  divisionCode: '331124',
  /** Birth-place codes for residents born outside the county, with relative weights. */
  otherBirthplaces: [
    { code: '331102', weight: 3 }, // 莲都区
    { code: '331123', weight: 3 }, // 遂昌县
    { code: '331122', weight: 2 }, // 缙云县
    { code: '331121', weight: 1 }, // 青田县
    { code: '331125', weight: 1 }, // 云和县
    { code: '331181', weight: 1 }, // 龙泉市
    { code: '330702', weight: 1 }, // 金华市婺城区
    { code: '330106', weight: 1 }, // 杭州市西湖区
  ],
  /** Share of residents born outside the county. */
  bornElsewhereShare: 0.08,
  phoneAreaCode: '0578',
} as const;

export const LEAD_HOSPITAL = 'county-peoples-hospital';
export const TCM_HOSPITAL = 'county-tcm-hospital';
export const MCH_HOSPITAL = 'county-mch-hospital';
export const SHARED_CENTRES = {
  lab: 'county-shared-lab',
  imaging: 'county-imaging-centre',
  ecg: 'county-ecg-centre',
  pathology: 'county-pathology-centre',
  disinfection: 'county-disinfection-supply-centre',
} as const;

export const TOWNSHIPS: readonly Township[] = [
  {
    id: 'chengguan',
    name: '城关街道',
    kind: 'subdistrict',
    healthCentre: 'chengguan-community-health-centre',
    weight: 5,
    villages: [
      { id: 'xinhua', name: '新华社区' },
      { id: 'nanmen', name: '南门社区' },
    ],
  },
  {
    id: 'dongcheng',
    name: '东城街道',
    kind: 'subdistrict',
    healthCentre: 'dongcheng-community-health-centre',
    weight: 3,
    villages: [
      { id: 'wenchang', name: '文昌社区' },
      { id: 'hedong', name: '河东社区' },
    ],
  },
  {
    id: 'qiaotou',
    name: '桥头镇',
    kind: 'town',
    healthCentre: 'qiaotou-township-health-centre',
    weight: 3,
    villages: [
      { id: 'dongcun', name: '东村', clinic: 'dongcun-village-clinic' },
      { id: 'xicun', name: '西村', clinic: 'xicun-village-clinic' },
      { id: 'qiaotou-village', name: '桥头村' },
    ],
  },
  {
    id: 'shimen',
    name: '石门乡',
    kind: 'township',
    healthCentre: 'shimen-township-health-centre',
    weight: 2,
    villages: [
      { id: 'shangyuan', name: '上源村', clinic: 'shangyuan-village-clinic' },
      { id: 'xiayuan', name: '下源村', clinic: 'xiayuan-village-clinic' },
    ],
  },
  {
    id: 'xikou',
    name: '溪口镇',
    kind: 'town',
    healthCentre: 'xikou-township-health-centre',
    weight: 2,
    villages: [
      { id: 'kengkou', name: '坑口村', clinic: 'kengkou-village-clinic' },
      { id: 'huangtan', name: '黄坦村', clinic: 'huangtan-village-clinic' },
    ],
  },
];
