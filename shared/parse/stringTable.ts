/** Distinct strings by small integer id, so hot loops can key typed arrays by them. */
export class StringTable {
    private readonly ids = new Map<string, number>();
    private readonly texts: string[] = [];

    id(text: string): number {
        let id = this.ids.get(text);
        if (id === undefined) {
            id = this.texts.length;
            this.texts.push(text);
            this.ids.set(text, id);
        }
        return id;
    }

    text(id: number): string {
        return this.texts[id] ?? '';
    }

    get size(): number {
        return this.texts.length;
    }
}
