/**
 * ECR lifecycle policies as JSON. The typed policy document of @pulumi/aws has
 * no `tagPatternList`, so the rules are written here: ascending priority, no
 * null fields.
 *
 * ECR semantics the rules rely on: rules select images, not tags (one release
 * is one image carrying four tags); an image selected by a higher-priority rule
 * (lower number) is never expired by a lower-priority one; a `tagStatus: any`
 * rule must come last; a `tagPatternList` entry without `*` matches that tag
 * exactly (a `tagPrefixList` of `latest` would also match `latest-foo`).
 */
export interface LifecycleRule {
    rulePriority: number;
    description: string;
    selection:
        | { tagStatus: "tagged"; tagPatternList: string[]; countType: "imageCountMoreThan"; countNumber: number }
        | { tagStatus: "any"; countType: "imageCountMoreThan"; countNumber: number };
    action: { type: "expire" };
}

export interface LifecyclePolicyOptions {
    /** How many of the most recently pushed images to keep. */
    retentionCount: number;
    /** Tags whose image is never expired, each matched exactly. */
    protectedTags: string[];
}

/**
 * A tag names one image at a time, so "expire when more than 1 image carries
 * it" never fires: the rule only shields that image from the count rule.
 */
function protect(tag: string, rulePriority: number): LifecycleRule {
    if (tag.includes("*")) {
        throw new Error(`a protected tag is matched exactly and cannot contain *: ${tag}`);
    }
    return {
        rulePriority,
        description: `Never expire the image tagged ${tag}`,
        selection: { tagStatus: "tagged", tagPatternList: [tag], countType: "imageCountMoreThan", countNumber: 1 },
        action: { type: "expire" },
    };
}

export function lifecycleRules(options: LifecyclePolicyOptions): LifecycleRule[] {
    if (!Number.isInteger(options.retentionCount) || options.retentionCount < 1) {
        throw new Error(`retention count must be a whole number of at least 1, not ${options.retentionCount}`);
    }
    const tags = [...new Set(options.protectedTags)];
    const shields = tags.map((tag, index) => protect(tag, index + 1));
    return [
        ...shields,
        {
            rulePriority: shields.length + 1,
            description: `Keep the ${options.retentionCount} most recently pushed images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: options.retentionCount },
            action: { type: "expire" },
        },
    ];
}

export function lifecyclePolicyJson(options: LifecyclePolicyOptions): string {
    return JSON.stringify({ rules: lifecycleRules(options) }, null, 2);
}
