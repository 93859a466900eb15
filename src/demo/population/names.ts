/**
 * Chinese names for the demo population, drawn from realistic frequencies.
 *
 * Surnames: approximate national shares (percent of the population) as published by the
 * Ministry of Public Security's household-registration statistics (the 2007 surname release
 * and the yearly 全国姓名报告 of 2019–2021, which keep 王 李 张 刘 陈 at the top, together
 * above 30 %). Shares are rounded; the tail is a sample of common surnames, including those
 * frequent in southern Zhejiang (叶 吴 潘 毛 季 应 项) and the She people's 蓝 雷 钟 of Lishui.
 * Compound surnames are rare: 欧阳 is the most common (about 0.08 %), the others a few per
 * hundred thousand, so a county of 10,000 shows a handful.
 *
 * Given names: characters typical of each generation (names followed the times: 福 贵 秀 英
 * before 1960; 国 建 军 红 卫 华 in the 1960s–70s; 伟 磊 婷 丽 静 in the 1980s–90s; 浩 宇 轩
 * 涵 欣 怡 梓 after 2000), and the share of one-character names, which rose in the 1970s–90s
 * and fell after 2000.
 */
import type { Rng } from './random.ts';
import type { Sex } from '../types.ts';

/** Surname followed by its approximate share in percent, most common first. */
const SURNAME_SHARES = parseShares(`
  王7.1 李7.0 张6.7 刘5.3 陈4.5 杨3.1 赵2.3 黄2.2 周2.1 吴2.0 徐1.7 孙1.5
  胡1.3 朱1.3 高1.2 林1.2 何1.2 郭1.1 马1.1 罗0.9 梁0.8 宋0.8 郑0.8 谢0.7
  韩0.7 唐0.6 冯0.6 于0.6 董0.6 肖0.6 程0.5 曹0.5 袁0.5 邓0.5 许0.5 傅0.4
  沈0.4 曾0.4 彭0.4 吕0.4 苏0.4 卢0.4 蒋0.4 蔡0.4 贾0.3 丁0.3 魏0.3 薛0.3
  叶0.3 阎0.3 余0.3 潘0.3 杜0.3 戴0.3 夏0.3 钟0.3 汪0.3 田0.3 任0.3 姜0.3
  范0.3 方0.3 石0.2 姚0.2 谭0.2 廖0.2 邹0.2 熊0.2 金0.2 陆0.2 郝0.2 孔0.2
  白0.2 崔0.2 康0.2 毛0.2 邱0.2 秦0.2 江0.2 史0.2 顾0.2 侯0.2 邵0.2 孟0.2
  龙0.2 万0.2 段0.2 雷0.2 钱0.2 汤0.2 尹0.2 黎0.2 易0.1 常0.1 武0.1 乔0.1
  贺0.1 赖0.1 龚0.1 文0.1 蓝0.08 季0.08 应0.06 项0.06 章0.08 鲍0.06 祝0.06 翁0.06
  柳0.05 包0.05 管0.05 葛0.05
`);

/** Compound surnames with their approximate shares in percent. */
const COMPOUND_SURNAME_SHARES = parseShares(`
  欧阳0.08 司马0.003 诸葛0.004 上官0.005 司徒0.006 皇甫0.003
  东方0.002 夏侯0.002 令狐0.001 尉迟0.001 公孙0.001 慕容0.001
`);

function parseShares(table: string): { value: string; weight: number }[] {
  return table
    .trim()
    .split(/\s+/)
    .map((entry) => {
      const m = /^(\D+)([\d.]+)$/.exec(entry);
      if (!m) throw new Error(`bad surname entry ${entry}`);
      return { value: m[1]!, weight: Number(m[2]) };
    });
}

export const SURNAMES: readonly { value: string; weight: number }[] = [
  ...SURNAME_SHARES,
  ...COMPOUND_SURNAME_SHARES,
];

export const COMPOUND_SURNAMES: readonly string[] = COMPOUND_SURNAME_SHARES.map((s) => s.value);

export function drawSurname(rng: Rng): string {
  return rng.weighted(SURNAMES);
}

interface GenerationStyle {
  /** First birth year of the style. */
  from: number;
  /** Share of one-character given names. */
  singleShare: number;
  /** Characters typical of the period, by sex. */
  male: string;
  female: string;
}

const STYLES: readonly GenerationStyle[] = [
  {
    from: 0,
    singleShare: 0.15,
    male: '福贵富财根生发德明国华山林金宝荣昌祥忠义仁海长松春水土有才茂',
    female: '秀英兰珍凤梅芳桂花玉翠莲娥妹香菊琴素彩云月金',
  },
  {
    from: 1960,
    singleShare: 0.3,
    male: '国建军华平伟勇红卫东明强兵志文斌林刚新忠海春永庆',
    female: '红英霞丽萍燕玲芳华敏静梅艳琴玉秀云娟美凤',
  },
  {
    from: 1980,
    singleShare: 0.3,
    male: '伟磊涛鹏杰浩斌超勇波强俊峰军明辉亮鑫飞宇林志健',
    female: '丽婷静敏燕娟艳霞芳琳洁雪倩颖佳晶丹莉慧玲红萍',
  },
  {
    from: 2000,
    singleShare: 0.12,
    male: '浩宇轩子涵博睿泽俊杰一晨阳铭宸鑫豪天翔佳文',
    female: '欣怡梓涵雨萱诗佳琪思可馨若语雪婷悦紫涵晨',
  },
  {
    from: 2012,
    singleShare: 0.08,
    male: '梓宇轩沐辰睿一诺子皓俊熙宸泽浩铭奕',
    female: '梓涵一诺欣怡可馨语汐若依沐萱梦瑶诗',
  },
];

function styleFor(birthYear: number): GenerationStyle {
  let style = STYLES[0]!;
  for (const s of STYLES) if (birthYear >= s.from) style = s;
  return style;
}

/** A given name of one or two characters, typical of the birth year and sex. */
export function drawGivenName(rng: Rng, birthYear: number, sex: Sex): string {
  const style = styleFor(birthYear);
  const chars = [...(sex === 'male' ? style.male : style.female)];
  const first = rng.pick(chars);
  if (rng.chance(style.singleShare)) return first;
  // Reduplicated girls' names (婷婷, 丹丹) became common from the 1980s.
  if (sex === 'female' && birthYear >= 1980 && rng.chance(0.04)) return first + first;
  let second = rng.pick(chars);
  while (second === first) second = rng.pick(chars);
  return first + second;
}
