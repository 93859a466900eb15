/**
 * Traditional and variant forms of characters common in names, mapped to the simplified form
 * the mainland ID card prints. Older systems, Hong Kong/Taiwan-built software and careful elders
 * write names in traditional characters; a clerk may type a variant (峯 for 峰). Comparing
 * names after this mapping makes 陳麗華 and 陈丽华 the same name. Only unambiguous one-to-one
 * pairs are listed: a traditional character that stands for several simplified ones (e.g. 乾)
 * would wrongly join different names.
 */
const PAIRS =
  '華华麗丽偉伟國国紅红鳳凤龍龙東东陳陈張张劉刘楊杨黃黄趙赵吳吴孫孙鄭郑馬马許许鄧邓馮冯韓韩蔣蒋' +
  '葉叶蘇苏盧卢呂吕陸陆廣广軍军輝辉強强愛爱慶庆寶宝貴贵興兴榮荣學学劍剑濤涛鵬鹏飛飞傑杰雲云靜静' +
  '蘭兰鳴鸣義义禮礼賢贤順顺達达進进壽寿長长亞亚銀银錦锦鐵铁鋒锋嬌娇潔洁穎颖瑩莹瓊琼蓮莲鵑鹃曉晓' +
  '綠绿紹绍繼继維维緒绪綺绮經经紀纪納纳結结統统嶺岭峯峰煒炜燦灿爍烁韋韦聖圣衛卫風风來来歐欧陽阳' +
  '諸诸鍾钟譚谭蕭萧嚴严羅罗龔龚賴赖顧顾萬万錢钱湯汤鄒邹閻阎賈贾範范鄔邬蘆芦薛薛鄺邝遲迟戶户' +
  '勞劳謝谢紅红綿绵麥麦鄉乡鎮镇樂乐霞霞蓉蓉鍵键聰聪穩稳勝胜驥骥騰腾駿骏麒麒麟麟鸞鸾鶴鹤鷹鹰' +
  '嶸嵘瑋玮琿珲璣玑瓏珑環环瑤瑶璐璐琳琳頌颂順顺顏颜願愿題题額额頤颐穎颖瀾澜潤润澤泽濱滨滿满' +
  '漢汉漁渔潘潘溫温淵渊滬沪灣湾燁烨煥焕熾炽燈灯營营瑩莹螢萤鶯莺鸝鹂鳩鸠鴻鸿鵬鹏雞鸡凱凯剛刚' +
  '勵励勛勋勁劲務务動动勳勋莊庄蓋盖薔蔷蘊蕴藝艺藍蓝蘭兰虹虹術术衆众裡里見见規规親亲覺觉觀观' +
  '訓训許许詩诗誠诚論论謙谦譽誉護护豐丰貞贞財财賓宾賀贺資资贏赢贊赞趙赵軒轩輝辉轉转農农迎迎' +
  '運运遠远選选遼辽邁迈醫医釗钊鈞钧鈺钰銘铭鋼钢錄录錫锡鏡镜鐘钟鑫鑫閃闪開开閩闽闊阔關关陣阵' +
  '陰阴隊队際际階阶雙双雜杂雖虽雞鸡離离難难電电霧雾靈灵韻韵響响項项須须頓顿頻频顥颢' +
  '飄飘餘余館馆駐驻騎骑驊骅鬆松魯鲁鮑鲍鯤鲲鳳凤黨党齊齐齡龄蘇苏眞真凖准';

const VARIANTS: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  const chars = [...PAIRS];
  for (let i = 0; i + 1 < chars.length; i += 2) {
    if (chars[i] !== chars[i + 1]) map.set(chars[i]!, chars[i + 1]!);
  }
  return map;
})();

/** The simplified form of a character, or the character itself. */
export function simplifiedChar(ch: string): string {
  return VARIANTS.get(ch) ?? ch;
}
